"""A revoked partner receives nothing more over the channels that read the shared log
themselves — its webhooks and the HTTP feed — than over NATS (``events.partnership``):
the forum records the revocation on the log, and from that position on nothing is sent;
re-added, the partner gets what the revocation held back, each event once; replayed from
a position, it receives from there. On the real engines, with the deliverer killed while
the partner is revoked.

On a platform of its own: these tests revoke partners."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from uuid import NAMESPACE_URL, uuid5

import httpx
import psutil
import pytest

from tests.conftest import Running, stop_platform
from tests.receiver import Receiver
from tests.sse import messages
from tests.test_webhooks import attack, endpoint_of, position_of, register, start_with_settings, wait_until


@pytest.fixture(scope="module")
def revocable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start_with_settings(tmp_path_factory.mktemp("revocation") / "data")
    yield running
    stop_platform(running)


def record(p: Running, partner: str, change: str, from_position: int | None = None) -> str:
    """The forum records a change to what ``partner`` receives (as ``coalition partners`` does)."""
    body: dict[str, object] = {"change": change, "note": "test"}
    if from_position is not None:
        body["from_position"] = from_position
    resp = p.post("forum", "forum", f"/v1/partners/{partner}/changes", body)
    assert resp.status_code == 201, resp.text
    return str(uuid5(NAMESPACE_URL, f"/forum/partners/{partner}"))


def feed(p: Running, org: str, **params: object) -> httpx.Response:
    return httpx.get(p.url("forum", "/v1/feed"), params=params, headers=p.headers(org), timeout=30)


def feed_subjects(p: Running, org: str, after: int) -> tuple[list[str], int]:
    """Every subject the feed gives ``org`` after ``after``, and where it ended."""
    found: list[str] = []
    while True:
        resp = feed(p, org, after=after, limit=50)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        found += [e["subject"] for e in page["events"]]
        if page["next"] == after:
            return found, after
        after = page["next"]


def test_a_revoked_partners_webhooks_stop_at_the_revocation_and_resume_once_after_a_re_add(
        revocable: Running, receiver: Receiver) -> None:
    """The BFAWU's endpoint receives two items; the forum revokes the BFAWU; three items are
    published while it is revoked, and the deliverer is killed meanwhile; the FBU's endpoint,
    not revoked, receives them all, the BFAWU's nothing. The BFAWU is added again: it
    receives the three it missed, the re-add, and what follows — each exactly once, in log
    order, never the revocation. Then revoked again, and replayed from the one item
    published in between: that item, the replay and what follows."""
    path, witness = "/bfawu", "/fbu-witness"
    created = register(revocable, "bfawu", receiver.url(path))
    assert created.status_code == 201, created.text
    endpoint = created.json()["endpoint"]["id"]
    receiver.secrets[path] = [created.json()["secret"]]
    seen = register(revocable, "fbu", receiver.url(witness))
    receiver.secrets[witness] = [seen.json()["secret"]]

    before = [attack(revocable, "GREEN"), attack(revocable, "GREEN")]
    wait_until(lambda: len(receiver.received(path)) >= 2, "the items before the revocation")
    partnership = record(revocable, "bfawu", "revoked")
    revoked_at = wait_until(lambda: endpoint_of(revocable, "bfawu", endpoint)["revoked_at"],
                            "the endpoint's state showing the revocation")

    held_back = [attack(revocable, "GREEN"), attack(revocable, "AMBER", ["bfawu"]), attack(revocable, "CLEAR")]
    wait_until(lambda: held_back[-1] in {d.subject for d in receiver.received(witness)},
               "the FBU, not revoked, receiving what was published meanwhile")
    victim = revocable.child("webhooks")
    victim.send_signal(signal.SIGKILL)
    wait_until(lambda: _restarted(revocable, victim.pid), "the deliverer started again")
    state = endpoint_of(revocable, "bfawu", endpoint)
    assert (state["revoked_at"], state["position"]) == (revoked_at, revoked_at), "stopped at the revocation"
    assert [d.subject for d in receiver.at(path)] == before, "nothing after the revocation was sent"

    record(revocable, "bfawu", "added")
    wait_until(lambda: endpoint_of(revocable, "bfawu", endpoint)["revoked_at"] is None,
               "the re-add on the log, followed by the endpoint")
    after = [attack(revocable, "GREEN")]
    expected = before + held_back + [partnership] + after
    wait_until(lambda: len(receiver.received(path)) >= len(expected), "what the revocation held back, and more")

    record(revocable, "bfawu", "revoked")
    wait_until(lambda: endpoint_of(revocable, "bfawu", endpoint)["revoked_at"], "revoked again")
    between = attack(revocable, "GREEN")
    delivered = wait_until(lambda: [d for d in receiver.received(witness) if d.subject == between],
                           "the FBU receiving the item published while the BFAWU is revoked")
    skipped_position = position_of(revocable, delivered[0].webhook_id)
    record(revocable, "bfawu", "replayed", from_position=skipped_position)
    wait_until(lambda: endpoint_of(revocable, "bfawu", endpoint)["revoked_at"] is None, "the replay followed")
    last = attack(revocable, "GREEN")
    expected += [between, partnership, last]
    wait_until(lambda: len(receiver.received(path)) >= len(expected), "the replay from the item in between")

    got = receiver.received(path)
    assert [d.subject for d in got] == expected, "in log order, the revocations never, nothing else"
    assert len(receiver.accepted(path)) == len(expected), "no event sent twice"
    assert [json.loads(d.body)["data"]["change"] for d in got if d.subject == partnership] == ["added", "replayed"]


def _restarted(p: Running, pid: int) -> bool:
    try:
        return p.child("webhooks").pid != pid
    except psutil.NoSuchProcess:
        return False  # the supervisor has not started it again yet


def read_stream_to_end(p: Running, org: str, after: int, drive) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """Follow ``org``'s SSE stream from ``after`` until the server ends it, each message
    (event, data, id) handed to ``drive`` with those before it as it comes."""
    got: list[tuple[str, str, str]] = []
    with httpx.stream("GET", p.url("forum", "/v1/feed/events"), params={"after": after, "hold": 120},
                      headers=p.headers(org), timeout=httpx.Timeout(150)) as resp:
        assert resp.status_code == 200
        for event, ident, data in messages(resp.iter_lines()):
            got.append((event, data, ident))
            drive(got)
    return got


def test_a_revoked_partners_feed_answers_403_and_its_open_stream_stops_at_the_revocation(
        revocable: Running) -> None:
    """The SCG follows its feed as Server-Sent Events; an item arrives; the forum revokes the
    SCG, and another item is published: the stream ends at the revocation without it; the
    feed and a new stream answer 403 naming the revocation. Added again, the SCG resumes
    from its own position and gets the item it missed."""
    _, end = feed_subjects(revocable, "scg", 0)
    items: dict[str, str] = {}

    def drive(got: list[tuple[str, str]]) -> None:
        if got[-1][0] == "ready":
            items["first"] = attack(revocable, "GREEN")
        elif got[-1][0] == "cloudevent" and json.loads(got[-1][1])["subject"] == items.get("first"):
            items["partnership"] = record(revocable, "scg", "revoked")
            wait_until(lambda: feed(revocable, "scg", after=end).status_code == 403, "the revocation on the log")
            items["missed"] = attack(revocable, "GREEN")

    got = read_stream_to_end(revocable, "scg", end, drive)
    subjects = [json.loads(data)["subject"] for kind, data, _ in got if kind == "cloudevent"]
    assert subjects == [items["first"]], "the stream stopped at the revocation"
    last_seen = int(next(ident for kind, _, ident in got if kind == "cloudevent"))

    refused = feed(revocable, "scg", after=end)
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["extra"]["position"] > end and problem["extra"]["time"]
    assert "revoked" in problem["detail"]
    assert httpx.get(revocable.url("forum", "/v1/feed/events"), headers=revocable.headers("scg"),
                     timeout=30).status_code == 403
    assert feed(revocable, "rmt", after=end).status_code == 200, "only the SCG is revoked"

    record(revocable, "scg", "added")
    wait_until(lambda: feed(revocable, "scg", after=last_seen).status_code == 200, "the re-add on the log")
    resumed, _ = feed_subjects(revocable, "scg", last_seen)  # from the Last-Event-ID it holds
    assert resumed == [items["missed"], items["partnership"]], \
        "the item the revocation held back, then the re-add; never the revocation"
