"""The board's live feed on the real engines: a partner reports an attack and a reader
listening to ``GET /api/board/events`` gets it as one event whose id is the board's
position; a reader who was away resumes with ``Last-Event-ID`` and misses nothing, and
sees nothing it may not see; a quiet feed says it is alive every 15 s; the page renders
the columns, filters and past views."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx

from tests import bodies
from tests.conftest import Running


def sse(resp: httpx.Response) -> Iterator[dict[str, str]]:
    """The messages of an event stream: each a dict of its fields (``comment`` for ``:`` lines)."""
    message: dict[str, str] = {}
    for line in resp.iter_lines():
        if not line:
            if message:
                yield message
            message = {}
            continue
        name, _, value = line.partition(":")
        name = name or "comment"
        message[name] = (message.get(name, "") + "\n" if name == "data" and name in message else "") + value.lstrip()


def next_event(stream: Iterator[dict[str, str]], event: str, until: float = 20.0) -> dict[str, str]:
    deadline = time.monotonic() + until
    for message in stream:
        if message.get("event") == event:
            return message
        assert time.monotonic() < deadline, f"no {event} event within {until}s"
    raise AssertionError("the stream ended")


def report(platform: Running, **changes: object) -> str:
    resp = platform.post("momentum", "momentum", "/v1/attacks", {**bodies.ATTACK, **changes})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def test_an_attack_reaches_a_listening_reader_as_one_event(platform: Running) -> None:
    with httpx.stream("GET", platform.url("forum", "/api/board/events"), timeout=30) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        stream = sse(resp)
        ready = next_event(stream, "ready")
        start = int(ready["id"])
        item = report(platform, summary="Suspended for a speech at a picket", region="yorkshire")
        while True:
            change = next_event(stream, "board")
            data = json.loads(change["data"])
            if any(i["id"] == item for i in data["items"]):
                break
    assert int(change["id"]) == data["position"] > start
    card = next(i for i in data["items"] if i["id"] == item)
    assert card["column"] == "triage" and card["region"] == "Yorkshire and The Humber"
    assert f'id="item-{item}"' in card["html"] and "TLP:GREEN" in card["html"]
    assert "Acknowledge" not in card["html"], "the open view offers no forms"


def test_last_event_id_resumes_without_a_gap_and_keeps_visibility(platform: Running) -> None:
    position = platform.board()["position"]
    seen = report(platform, summary="Shared with every member")
    hidden = report(platform, summary="Shared with the RMT only", tlp="AMBER", audience=["rmt"])
    platform.wait_on_board(seen)
    time.sleep(0.3)  # the AMBER one is applied in the same or the next batch
    with httpx.stream("GET", platform.url("forum", "/api/board/events"), timeout=30,
                      headers={"Last-Event-ID": str(position)}) as resp:
        stream = sse(resp)
        assert int(next_event(stream, "ready")["id"]) == position
        data = json.loads(next_event(stream, "board")["data"])
    ids = {i["id"] for i in data["items"]}
    assert seen in ids and hidden not in ids
    assert all(i["tlp"] in ("CLEAR", "GREEN") for i in data["items"])
    # the first connection names its position in the query
    with httpx.stream("GET", platform.url("forum", "/api/board/events"), params={"last_event_id": position},
                      timeout=30) as resp:
        data = json.loads(next_event(sse(resp), "board")["data"])
    assert seen in {i["id"] for i in data["items"]}
    bad = httpx.get(platform.url("forum", "/api/board/events"), headers={"Last-Event-ID": "yesterday"})
    assert bad.status_code == 400


def test_a_quiet_feed_says_it_is_alive(platform: Running) -> None:
    began = time.monotonic()
    with httpx.stream("GET", platform.url("forum", "/api/board/events"), timeout=30) as resp:
        for message in sse(resp):
            if message.get("comment") == "keep-alive":
                break
            assert time.monotonic() - began < 25, "no keep-alive within 25 s"
    assert 10 < time.monotonic() - began < 25
    began = time.monotonic()
    with httpx.stream("GET", platform.url("forum", "/api/board/events"), params={"hold": 0.5}, timeout=30) as resp:
        assert [m.get("event") for m in sse(resp)] == ["ready"]
    assert time.monotonic() - began < 5, "hold closes the stream"


def test_the_page_filters_and_shows_past_boards(platform: Running) -> None:
    leeds = report(platform, summary="Leeds branch secretary suspended", region="Yorkshire")
    york = report(platform, summary="Newcastle councillor suspended", region="North East")
    board = platform.wait_on_board(leeds, york)
    page = httpx.get(platform.url("forum", "/"), params={"region": "Yorkshire and The Humber"}, timeout=30)
    assert page.status_code == 200
    html = page.text
    assert f'id="item-{leeds}"' in html and f'id="item-{york}"' not in html
    assert '<main id="board"' in html and 'aria-live="polite"' in html and "/static/board.js" in html
    assert httpx.get(platform.url("forum", "/static/board.js")).status_code == 200
    past = httpx.get(platform.url("forum", "/"), params={"as_of": board["position"]}, timeout=30).text
    digest = httpx.get(platform.url("forum", "/api/board"), params={"as_of": board["position"]}).json()["digest"]
    assert "Past view." in past and digest in past and 'data-live="false"' in past
    assert "Archive." in httpx.get(platform.url("forum", "/"), params={"archive": "true"}, timeout=30).text
