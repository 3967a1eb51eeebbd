"""The partners' HTTP feed on the forum, for a partner without NATS: pages after a
position and a Server-Sent Events stream resumed with ``Last-Event-ID``, each with the
partner's sharing policy applied (an AMBER item naming the RMT is in the RMT's feed, not
the FBU's), authenticated by the partner's own key; every CloudEvent parsed by the
``cloudevents`` SDK. And the AsyncAPI document the forum serves."""

from __future__ import annotations

import json

import httpx
from cloudevents.core.bindings.http import HTTPMessage, from_structured_event
from cloudevents.core.formats.json import JSONFormat

from contracts.registry import CONTRACTS, kind_of
from tests.bodies import ATTACK
from tests.conftest import Running
from tests.sse import messages


def feed(p: Running, org: str, **params: object) -> httpx.Response:
    return httpx.get(p.url("forum", "/v1/feed"), params=params, headers=p.headers(org), timeout=30)


def log_end(p: Running) -> int:
    """Where the log ends now, as a partner finds out: read its feed to the end."""
    after = 0
    while True:
        page = feed(p, "forum", after=after, limit=1000).json()
        if page["next"] == after:
            return after
        after = page["next"]


def publish(p: Running, tlp: str, audience: list[str] | None = None) -> str:
    resp = p.post("momentum", "momentum", "/v1/attacks", {**ATTACK, "tlp": tlp, "audience": audience})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def parsed(raw: dict | str | bytes):  # noqa: ANN201 - a cloudevents SDK event
    body = raw if isinstance(raw, bytes) else (raw if isinstance(raw, str) else json.dumps(raw)).encode()
    return JSONFormat().read(None, body)


def subjects(p: Running, org: str, after: int) -> list[str]:
    found = []
    while True:
        page = feed(p, org, after=after, limit=2).json()
        found += [str(parsed(e).get_subject()) for e in page["events"]]
        if page["next"] == after:
            return found
        after = page["next"]


def test_each_partner_reads_what_the_policy_grants_it_from_a_position(platform: Running) -> None:
    start = log_end(platform)
    green = publish(platform, "GREEN")
    amber_rmt = publish(platform, "AMBER", ["rmt"])
    amber_fbu = publish(platform, "AMBER", ["fbu"])
    publish(platform, "RED", ["rmt"])
    last = publish(platform, "CLEAR")
    platform.wait_on_board(last)  # one publisher, in order: everything before it is on the log

    assert subjects(platform, "rmt", start) == [green, amber_rmt, last]
    assert subjects(platform, "fbu", start) == [green, amber_fbu, last]
    assert subjects(platform, "forum", start) == [green, amber_rmt, amber_fbu, last], "the forum gets every AMBER"

    page = feed(platform, "rmt", after=start, limit=1).json()
    assert [parsed(e).get_subject() for e in page["events"]] == [green]
    rest = feed(platform, "rmt", after=page["next"], limit=10).json()
    assert [parsed(e).get_subject() for e in rest["events"]] == [amber_rmt, last], "resumed after the first"
    assert all(parsed(e).get_type() == "attack.reported.v1" for e in rest["events"])


def test_bad_feed_parameters_are_refused_by_name(platform: Running) -> None:
    for params, name in (({"after": -1}, "after"), ({"limit": 0}, "limit"), ({"limit": 100000}, "limit"),
                         ({"after": "x"}, "after")):
        resp = feed(platform, "rmt", **params)
        assert resp.status_code == 400, resp.text
        assert name in resp.text
    assert httpx.get(platform.url("forum", "/v1/feed"), timeout=30).status_code == 401
    wrong = httpx.get(platform.url("forum", "/v1/feed"), headers={"Authorization": "Bearer nope"}, timeout=30)
    assert wrong.status_code == 401


def read_stream(p: Running, org: str, headers: dict[str, str], params: dict[str, object],
                until: str) -> list[tuple[str, str, str]]:
    """(event, id, data) of the stream's messages until one whose data names ``until``."""
    got: list[tuple[str, str, str]] = []
    with httpx.stream("GET", p.url("forum", "/v1/feed/events"), params=params,
                      headers={**p.headers(org), **headers}, timeout=30) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream")
        for message in messages(resp.iter_lines()):
            got.append(message)
            if until in message[2]:
                return got
    return got


def test_the_stream_resumes_from_last_event_id_with_the_policy_applied(platform: Running) -> None:
    start = log_end(platform)
    first = publish(platform, "AMBER", ["rmt"])
    hidden = publish(platform, "AMBER", ["fbu"])
    second = publish(platform, "GREEN")
    platform.wait_on_board(second)

    got = read_stream(platform, "rmt", {"Last-Event-ID": str(start)}, {"hold": 20}, second)
    assert got[0][0] == "ready"
    events = [(ident, parsed(data)) for kind, ident, data in got if kind == "cloudevent"]
    assert [e.get_subject() for _, e in events] == [first, second]
    assert hidden not in "".join(d for _, _, d in got)

    resumed = read_stream(platform, "rmt", {"Last-Event-ID": events[0][0]}, {"hold": 20}, second)
    again = [parsed(d).get_subject() for kind, _, d in resumed if kind == "cloudevent"]
    assert again == [second], "resumed right after the first event"

    bad = httpx.get(platform.url("forum", "/v1/feed/events"), headers={**platform.headers("rmt"),
                                                                        "Last-Event-ID": "soon"}, timeout=30)
    assert bad.status_code == 400 and "Last-Event-ID" in bad.text


def test_cloudevents_sdk_reads_the_structured_event_as_delivered(platform: Running) -> None:
    start = log_end(platform)
    item = publish(platform, "GREEN")
    platform.wait_on_board(item)
    raw = feed(platform, "rmt", after=start).json()["events"][0]
    event = from_structured_event(HTTPMessage(headers={"content-type": "application/cloudevents+json"},
                                              body=json.dumps(raw).encode()))
    assert event.get_specversion() == "1.0" and event.get_subject() == item
    assert event.get_source() == "/services/momentum" and event.get_extension("tlp") == "GREEN"


def test_the_forum_serves_the_asyncapi_document(platform: Running) -> None:
    resp = httpx.get(platform.url("forum", "/asyncapi.json"), timeout=30)
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["asyncapi"] == "3.0.0"
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == {kind_of(c) for c in CONTRACTS}
    assert {"coalition", "share-rmt", "share-fbu"} <= set(doc["channels"])
