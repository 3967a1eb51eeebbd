"""The board's history on the real engines: the board as it stood at an earlier position
(replayed from the board's own log, with a digest an auditor can check), an item's
timeline as JSON and CSV, pages and the archive, and the decisions with their evidence.

The platform here is the module's own, with resolved items archived at once
(COALITION_ARCHIVE_AFTER_DAYS=0); decisions are published straight onto the forum's
subjects as the admin (the forum's commands for them are the write side's), which is
why no other test shares this platform."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import pytest

from contracts import CloudEvent, Contract, encode_envelope
from contracts.forum import DecisionMade, DecisionPositionTaken, DecisionProposed
from contracts.registry import kind_of
from tests.bodies import ATTACK
from tests.conftest import Running, start_platform, stop_platform


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    before = os.environ.get("COALITION_ARCHIVE_AFTER_DAYS")
    os.environ["COALITION_ARCHIVE_AFTER_DAYS"] = "0"
    try:
        running = start_platform(tmp_path_factory.mktemp("history") / "data")
    finally:
        if before is None:
            os.environ.pop("COALITION_ARCHIVE_AFTER_DAYS")
        else:
            os.environ["COALITION_ARCHIVE_AFTER_DAYS"] = before
    yield running
    stop_platform(running)


def get(platform: Running, path: str, viewer: str | None = None, **params: Any) -> httpx.Response:
    headers = platform.headers(viewer) if viewer else {}
    return httpx.get(platform.url("forum", path), params=params, headers=headers, timeout=30)


def report(platform: Running, org: str = "momentum", **changes: Any) -> str:
    resp = platform.post(org, org, "/v1/attacks", {**ATTACK, **changes})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def resolve(platform: Running, attack: str, org: str = "momentum") -> None:
    resp = platform.post(org, org, f"/v1/attacks/{attack}/resolution", {"outcome": "reinstated"})
    assert resp.status_code == 201, resp.text
    platform.wait_for_item(attack, lambda i: i["status"] == "resolved")


def archived(platform: Running) -> list[str]:
    return [i["id"] for i in get(platform, "/api/board", archive="true", limit=5000).json()["items"]]


def wait_archived(platform: Running, item: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while item not in archived(platform):
        assert time.monotonic() < deadline, f"{item} not in the archive"
        time.sleep(0.05)


def publish(platform: Running, subject: str, data: Contract, item: str) -> None:
    ce = CloudEvent(id=str(uuid.uuid4()), source="/services/forum", type=kind_of(data), subject=item,
                    time=datetime.now(UTC), tlp=data.tlp, data=data)

    async def send() -> None:
        nc = await nats.connect(platform.nats_url)
        try:
            await nc.jetstream().publish(subject, encode_envelope(ce))
        finally:
            await nc.close()

    asyncio.run(send())


def wait_position_beyond(platform: Running, position: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while (now := get(platform, "/api/board", limit=1).json()["position"]) <= position:
        assert time.monotonic() < deadline, f"the board stays at {now}"
        time.sleep(0.05)
    return now


def test_the_board_as_of_an_earlier_position_shows_the_earlier_state(own: Running) -> None:
    """Momentum reports a suspension; the board is at P. The member is reinstated. As of P
    the board still shows the suspension new, and says so with the same digest each time."""
    attack = report(own)
    own.wait_on_board(attack)
    then = get(own, "/api/board", "momentum", limit=1).json()["position"]
    resolve(own, attack)

    past = get(own, "/api/board", "momentum", as_of=str(then))
    assert past.status_code == 200, past.text
    body = past.json()
    assert (body["position"], body["as_of"]) == (then, then)
    assert next(i for i in body["items"] if i["id"] == attack)["status"] == "new"
    assert len(body["digest"]) == 64
    assert get(own, "/api/board", "momentum", as_of=str(then)).json()["digest"] == body["digest"]
    # by time: the board as it stood when the event at P was recorded
    at = body["as_of_time"]
    assert get(own, "/api/board", "momentum", as_of=at).json()["digest"] == body["digest"]
    # the present, replayed, is the live board
    live = get(own, "/api/board", "momentum", limit=5000).json()
    now = get(own, "/api/board", "momentum", as_of=str(live["position"]), limit=5000).json()

    def same(board: dict) -> list[dict]:
        return sorted(({k: v for k, v in i.items() if k != "tasks_overdue"} for i in board["items"]),
                      key=lambda i: i["id"])

    archive = get(own, "/api/board", "momentum", archive="true", limit=5000).json()
    past_archive = get(own, "/api/board", "momentum", as_of=str(live["position"]), archive="true",
                       limit=5000).json()
    # (the archive is as of each moment: split alike, the items are the same)
    assert sorted(same(now) + same(past_archive), key=lambda i: i["id"]) == \
        sorted(same(live) + same(archive), key=lambda i: i["id"])
    # another organisation saw another board (what it may see), so another digest
    assert get(own, "/api/board", as_of=str(then)).json()["digest"] != body["digest"] or \
        all(i["tlp"] in ("CLEAR", "GREEN") for i in body["items"])


def test_an_as_of_the_board_cannot_answer_is_a_400(own: Running) -> None:
    position = get(own, "/api/board", limit=1).json()["position"]
    assert get(own, "/api/board", as_of=str(position + 1000)).status_code == 400
    assert get(own, "/api/board", as_of="yesterday").status_code == 400
    assert get(own, "/api/board", cursor="nonsense").status_code == 400


def test_an_items_timeline_as_json_and_csv(own: Running) -> None:
    attack = report(own)
    own.wait_on_board(attack)
    triage = own.post("forum", "forum", f"/v1/items/{attack}/triage", {"status": "acknowledged", "priority": "high"})
    assert triage.status_code == 201, triage.text
    resolve(own, attack)

    entries = get(own, f"/api/items/{attack}/timeline").json()
    assert [e["kind"] for e in entries] == ["attack.reported.v1", "item.triaged.v1", "attack.resolved.v1"]
    assert [e["org"] for e in entries] == ["momentum", "forum", "momentum"]
    assert entries[1]["summary"].startswith("triaged by forum: acknowledged")
    assert all(e["time"] and "actor" in e for e in entries)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)

    as_csv = get(own, f"/api/items/{attack}/timeline", format="csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["kind"] for r in rows] == [e["kind"] for e in entries]


def test_a_timeline_the_caller_may_not_see_is_404_like_an_unknown_one(own: Running) -> None:
    hidden = report(own, tlp="AMBER+STRICT", audience=["scg"])
    # not on the open board: wait until scg, named, sees it
    deadline = time.monotonic() + 20
    while get(own, f"/api/items/{hidden}/timeline", "scg").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    unknown = str(uuid.uuid4())
    for viewer, item in ((None, hidden), ("rmt", hidden), ("rmt", unknown)):
        resp = get(own, f"/api/items/{item}/timeline", viewer)
        assert resp.status_code == 404
        assert resp.json() == {"status_code": 404, "detail": f"no item with id {item}"}


def test_the_board_pages_and_keeps_old_resolved_items_in_the_archive(own: Running) -> None:
    first, second, third = report(own), report(own), report(own)
    own.wait_on_board(first, second, third)
    page = get(own, "/api/board", limit=2).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    seen = [i["id"] for i in page["items"]]
    while page["next_cursor"]:
        page = get(own, "/api/board", limit=2, cursor=page["next_cursor"]).json()
        seen += [i["id"] for i in page["items"]]
    assert len(seen) == len(set(seen)) and {first, second, third} <= set(seen)
    assert get(own, "/api/board", limit=1, offset=1).json()["items"][0]["id"] == seen[1]

    resolve(own, second)  # archived after 0 days: at once
    wait_archived(own, second)
    live = [i["id"] for i in get(own, "/api/board", limit=5000).json()["items"]]
    assert second not in live and first in live
    assert get(own, "/api/board", archive="true").json()["archive"] is True


def test_decisions_show_their_evidence_positions_and_the_board_they_were_taken_on(own: Running) -> None:
    """The forum proposes, on an attack as evidence, at the board's position P with the digest
    of the board as it saw it; the FBU agrees, Momentum blocks; the consent decision is
    recorded as not taken. The decision links to the board as of P, whose digest checks."""
    attack = report(own)
    own.wait_on_board(attack)
    position = get(own, "/api/board", "forum", limit=1).json()["position"]
    digest = get(own, "/api/board", "forum", as_of=str(position)).json()["digest"]
    decision = str(uuid.uuid4())
    now = datetime.now(UTC)
    publish(own, "coalition.forum.decision.proposed", DecisionProposed(
        org="forum", occurred_at=now, question="Call a national day of action?", method="consent",
        options=["yes", "no"], board_position=position, board_digest=digest, refs=[attack],
        actor="Sam Coordinator"), decision)
    publish(own, "coalition.forum.decision.position_taken", DecisionPositionTaken(
        org="fbu", occurred_at=now, decision=decision, position="agree", refs=[decision]), str(uuid.uuid4()))
    publish(own, "coalition.forum.decision.position_taken", DecisionPositionTaken(
        org="momentum", occurred_at=now, decision=decision, position="block", reason="Too soon",
        refs=[decision]), str(uuid.uuid4()))
    publish(own, "coalition.forum.decision.made", DecisionMade(
        org="forum", occurred_at=now, outcome="no", rationale="Momentum blocked", decided_by=["forum"],
        board_position=position, board_digest=digest, decision=decision), decision)
    deadline = time.monotonic() + 20
    while (found := get(own, f"/api/decisions/{decision}")).status_code != 200 or found.json()["status"] != "decided":
        assert time.monotonic() < deadline, found.text
        time.sleep(0.05)

    d = found.json()
    assert (d["question"], d["method"], d["evidence"], d["proposed_by"]) == (
        "Call a national day of action?", "consent", [attack], "Sam Coordinator")
    assert d["current_positions"] == {"fbu": "agree", "momentum": "block"}
    assert (d["outcome"], d["decided_by"], d["board_position"]) == ("no", ["forum"], position)
    assert d["board_then"] == f"/api/board?as_of={position}"
    assert decision in [x["id"] for x in get(own, "/api/decisions").json()]
    # the auditor: the board as the forum saw it then has the digest the decision recorded
    then = httpx.get(own.url("forum", d["board_then"]), headers=own.headers("forum"), timeout=30).json()
    assert then["digest"] == d["board_digest"] == digest
    # the decision's timeline: proposal, positions, outcome
    kinds = [e["kind"] for e in get(own, f"/api/items/{decision}/timeline").json()]
    assert kinds == ["decision.proposed.v1", "decision.position_taken.v1", "decision.position_taken.v1",
                     "decision.made.v1"]
    assert get(own, f"/api/decisions/{uuid.uuid4()}").status_code == 404


def test_the_board_keeps_its_log(own: Running) -> None:
    import psycopg

    with psycopg.connect(own.database_url) as conn:
        logged, position = conn.execute("SELECT count(*), coalesce(max(seq), 0) FROM board.log").fetchone()
        board_position = conn.execute("SELECT seq FROM board.position").fetchone()[0]
    assert logged > 0 and position == board_position


def test_a_decision_proposed_through_the_forum_has_a_digest_the_auditor_gets_again(platform: Running) -> None:
    """The forum proposes through its API: it records the board position and the digest of
    the board as it saw it there. Later, the board as of that position, replayed from the
    log for the forum, has the same digest; the decision's page says so and links to it."""
    attack = report(platform)
    platform.wait_on_board(attack)
    proposed = platform.post("forum", "forum", "/v1/decisions", {
        "question": "Ask the MPs to write to the NEC?", "method": "coordinator_call",
        "options": ["yes", "no"], "refs": [attack]})
    assert proposed.status_code == 201, proposed.text
    decision = proposed.json()["id"]
    made = platform.post("forum", "forum", f"/v1/decisions/{decision}/outcome",
                         {"outcome": "yes", "rationale": "The coordinators' call"})
    assert made.status_code == 201, made.text
    deadline = time.monotonic() + 20
    while (found := get(platform, f"/api/decisions/{decision}", "forum")).status_code != 200 \
            or found.json()["status"] != "decided":
        assert time.monotonic() < deadline, found.text
        time.sleep(0.05)
    d = found.json()
    assert d["evidence"] == [attack] and d["board_digest"] and d["decided_digest"]
    for position, digest in ((d["board_position"], d["board_digest"]),
                             (d["decided_position"], d["decided_digest"])):
        then = get(platform, "/api/board", "forum", as_of=str(position)).json()
        assert then["digest"] == digest, f"the board as of {position} does not check out"


def test_a_past_board_is_the_same_from_a_snapshot_of_either_format(own: Running) -> None:
    """The board keeps a snapshot every few thousand events, as its items' canonical JSON
    (format 2); boards of an earlier version kept them as rows (format 1). One is put
    by hand at Q, between a report and its triage and resolution: the board as of P,
    after Q, is the same — items, page and digest — as replayed from the start of the
    log, from either format."""
    import psycopg

    from projections.board import snapshots
    from projections.board.history import state_at
    from tests.unit.test_snapshots import format_1

    report(own, tlp="AMBER", audience=["fbu"])  # a board that differs by who reads it
    attack = report(own)
    own.wait_on_board(attack)
    q = wait_position_beyond(own, 0)
    triage = own.post("forum", "forum", f"/v1/items/{attack}/triage", {"status": "acknowledged", "priority": "high"})
    assert triage.status_code == 201, triage.text
    resolve(own, attack)
    p = get(own, "/api/board", limit=1).json()["position"]
    assert p > q

    def as_of(viewer: str | None, **params: Any) -> dict[str, Any]:
        resp = get(own, "/api/board", viewer, as_of=str(p), **params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    asked = [(viewer, params) for viewer in (None, "momentum", "fbu")
             for params in ({"limit": 5000}, {"limit": 2}, {"archive": "true"})]
    from_the_log = [as_of(viewer, **params) for viewer, params in asked]
    assert next(i for i in from_the_log[6]["items"] if i["id"] == attack)["status"] == "resolved"
    with psycopg.connect(own.database_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM board.snapshots WHERE position <= %s", [p]).fetchone()[0] == 0
        state = state_at(conn, q, "board")
        assert state.items[attack]["status"] == "new"
        for body in (snapshots.encode(state), format_1(state)):
            conn.execute("INSERT INTO board.snapshots (position, body) VALUES (%s, %s)", [q, body])
            try:
                assert [as_of(viewer, **params) for viewer, params in asked] == from_the_log
            finally:
                conn.execute("DELETE FROM board.snapshots WHERE position = %s", [q])
        # and it is the snapshot that is read: one that says otherwise is believed
        state.items[attack]["title"] = "Taken from the snapshot"
        for body in (snapshots.encode(state), format_1(state)):
            conn.execute("INSERT INTO board.snapshots (position, body) VALUES (%s, %s)", [q, body])
            try:
                item = next(i for i in as_of("momentum", limit=5000)["items"] if i["id"] == attack)
                assert (item["title"], item["status"]) == ("Taken from the snapshot", "resolved")
            finally:
                conn.execute("DELETE FROM board.snapshots WHERE position = %s", [q])
