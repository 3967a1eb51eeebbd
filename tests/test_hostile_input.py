"""Hostile and careless input: no request and no message on the log can stop a reader.

Each trigger of issue 7's first finding is sent as a partner would send it. Bad input is
a 4xx that names the problem, stores nothing and publishes nothing; what is valid but
large (a head count of billions over thousands of pledges) fits; and after each, an
ordinary command from another organisation still reaches the board within two seconds.
A message forged onto the stream that the board cannot apply is quarantined, listed by
``coalition status`` and shown on the board page, and the board goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import nats
import psycopg
import pytest

from contracts import CloudEvent, encode_envelope
from contracts.attacks import AttackReported
from contracts.base import Target
from projections.board import schema
from projections.board.projector import apply_received
from services.domain.attacks import Attack
from services.domain.sharing import Sharing
from services.relay import Trouble
from services.translator import TooLargeToPublish, Unpublishable, check_publishable
from tests.bodies import ATTACK, action
from tests.conftest import Running, start_platform, stop_platform
from tests.shared_log import board_rows, stored_and_published

WIN = {"kind": "motion_passed", "summary": "Motion passed", "tlp": "CLEAR"}


def settled(platform: Running, timeout: float = 10.0) -> tuple[int, int]:
    """What is stored and what is published, once the relays have published everything."""
    deadline = time.monotonic() + timeout
    while True:
        stored, published = counts = stored_and_published(platform)
        if stored <= published or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def still_flowing(platform: Running, org: str = "scg", service: str = "scg") -> None:
    """An ordinary command of ``org`` reaches the board within two seconds."""
    resp = platform.post(org, service, "/v1/attacks", ATTACK)
    assert resp.status_code == 201, resp.text
    platform.wait_on_board(resp.json()["id"], timeout=2.0)


def refused(platform: Running, resp: httpx.Response, status: int, *words: str) -> None:
    assert resp.status_code == status, resp.text
    for word in words:
        assert word in resp.text, resp.text


def post_raw(platform: Running, org: str, service: str, path: str, content: bytes) -> httpx.Response:
    headers = {**platform.headers(org), "content-type": "application/json"}
    return httpx.post(platform.url(service, path), content=content, headers=headers, timeout=60)


def test_a_head_count_in_the_asks_is_only_text(platform: Running) -> None:
    """'We need 3,000,000,000 people' is stored as it was written, and read for no number;
    3,000,000,000 as ``people_wanted`` is refused, naming the field."""
    body = {**action([]), "asks": "We need 3,000,000,000 people"}
    del body["people_wanted"]
    called = platform.post("momentum", "momentum", "/v1/actions", body)
    assert called.status_code == 201, called.text
    item = platform.wait_on_board(called.json()["id"])["items"]
    item = next(i for i in item if i["id"] == called.json()["id"])
    assert (item["summary"], item["people_wanted"]) == ("We need 3,000,000,000 people", None)

    before = settled(platform)
    refused(platform, platform.post("momentum", "momentum", "/v1/actions",
                                    {**action([]), "people_wanted": 3_000_000_000}), 400, "people_wanted")
    refused(platform, platform.post("momentum", "momentum", "/v1/actions",
                                    {**action([]), "people_wanted": -1}), 400, "people_wanted")
    assert settled(platform) == before
    still_flowing(platform)


@pytest.mark.parametrize("text", ["nul\u0000here", "bell\u0007", "escape \u001b[31mred", "del\u007f", "c1\u0085"],
                         ids=["nul", "bell", "ansi-escape", "del", "c1-next-line"])
def test_control_characters_in_text_are_refused(platform: Running, text: str) -> None:
    """A NUL in a win's summary (PostgreSQL cannot store it) and other control characters
    are a 400 naming the field; nothing is stored or published."""
    before = settled(platform)
    refused(platform, platform.post("momentum", "momentum", "/v1/wins", {**WIN, "summary": text}), 400, "summary")
    refused(platform, platform.post("momentum", "momentum", "/v1/attacks",
                                    {**ATTACK, "targets": [{"kind": "member", "name": text}]}), 400, "targets")
    refused(platform, platform.post("momentum", "momentum", "/v1/attacks", {**ATTACK, "region": text}), 400, "region")
    refused(platform, platform.post("momentum", "momentum", "/v1/attacks", {**ATTACK, "refs": [text]}), 400, "refs")
    assert settled(platform) == before
    still_flowing(platform)


def test_newlines_and_tabs_are_text(platform: Running) -> None:
    """What people write in a text box stays allowed."""
    summary = "Motion passed:\n\tfor 312\n\tagainst 4\nÉcoles, Ysgolion, 学校 ✊"
    win = platform.post("momentum", "momentum", "/v1/wins", {**WIN, "summary": summary})
    assert win.status_code == 201, win.text
    board = platform.wait_on_board(win.json()["id"])
    assert next(i for i in board["items"] if i["id"] == win.json()["id"])["summary"] == summary


def test_two_thousand_pledges_of_a_million_people_add_up_on_the_board(platform: Running) -> None:
    """2,148 pledges of 1,000,000 people to one action: the total, 2,148,000,000, is more than
    an ``integer`` holds and is on the board; a pledge of 1,000,001 people is refused."""
    called = platform.post("forum", "forum", "/v1/actions",
                           {**action([]), "kind": "rally", "people_wanted": 1_000_000})
    assert called.status_code == 201, called.text
    action_id = called.json()["id"]
    platform.wait_on_board(action_id)
    refused(platform, platform.post("scg", "scg", f"/v1/actions/{action_id}/pledges", {"people": 1_000_001}),
            400, "people")

    async def pledge_all(count: int) -> list[int]:
        limit = asyncio.Semaphore(48)
        orgs = [("momentum", "momentum"), ("scg", "scg"), ("rmt", "unions"), ("forum", "forum")]
        async with httpx.AsyncClient(timeout=60) as client:
            async def one(i: int) -> int:
                org, service = orgs[i % len(orgs)]
                async with limit:
                    resp = await client.post(platform.url(service, f"/v1/actions/{action_id}/pledges"),
                                             json={"people": 1_000_000}, headers=platform.headers(org))
                    return resp.status_code

            return await asyncio.gather(*(one(i) for i in range(count)))

    statuses = asyncio.run(pledge_all(2148))
    assert statuses == [201] * 2148
    item = platform.wait_for_item(action_id, lambda i: i["pledge_count"] == 2148, timeout=60)
    assert (item["pledge_count"], item["people_pledged"]) == (2148, 2_148_000_000)
    page = httpx.get(platform.url("forum", "/"), timeout=30)
    assert "2,148,000,000 of 1,000,000 people pledged" in page.text
    still_flowing(platform, "rmt", "unions")


def test_a_body_too_large_for_the_log_is_refused_before_it_is_read(platform: Running) -> None:
    """900,000 refs (3.6 MB) or 4 MB of sources: 413, nothing stored or published; 101 refs
    or 51 sources in a small body: 400 naming the field."""
    before = settled(platform)
    refused(platform, platform.post("momentum", "momentum", "/v1/wins", {**WIN, "refs": ["a"] * 900_000}), 413,
            "larger than 262,144 bytes")
    refused(platform, platform.post("momentum", "momentum", "/v1/attacks",
                                    {**ATTACK, "sources": ["s" * 200] * 20_000}), 413)
    refused(platform, platform.post("momentum", "momentum", "/v1/wins",
                                    {**WIN, "refs": [str(uuid.uuid4()) for _ in range(101)]}), 400, "refs")
    refused(platform, platform.post("momentum", "momentum", "/v1/attacks", {**ATTACK, "sources": ["s"] * 51}),
            400, "sources")
    refused(platform, platform.post("momentum", "momentum", "/v1/wins", {**WIN, "summary": "x" * 2001}),
            400, "summary")
    assert settled(platform) == before
    still_flowing(platform)


@pytest.mark.parametrize(("body", "says"), [
    (b"[" * 100_000 + b"]" * 100_000, "Expected `object`, got `array`"),
    (b'{"kind": "motion_passed", "summary": "x", "refs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "refs"),
    (b'{"unknown": ' + b'{"a": ' * 30_000 + b"1" + b"}" * 30_000 + b"}", "unknown"),
], ids=["arrays", "in-a-field", "objects"])
def test_a_body_nested_a_hundred_thousand_deep_is_a_400(platform: Running, body: bytes, says: str) -> None:
    """Decoded straight into the command, the body is refused at the first level that is not
    the command's shape, naming it, long before any recursion limit: a 400, not a 500 (a
    body read without a command's type is a 400 saying it is "nested too deeply")."""
    before = settled(platform)
    refused(platform, post_raw(platform, "momentum", "momentum", "/v1/wins", body), 400, says)
    assert settled(platform) == before
    still_flowing(platform)


@pytest.mark.parametrize(("body", "says"), [
    (b'{"kind": "motion_passed", "summary": "\xff\xfe"}', "not UTF-8"),
    (b'{"kind": "motion_passed", "summary": "\\ud800"}', ""),
    (b'{"kind": "motion_passed", "summary": "x", "occurred_at": 1e400}', "out of range"),
], ids=["invalid-utf8", "lone-surrogate", "infinite-number"])
def test_a_body_that_is_not_json_text_is_a_400(platform: Running, body: bytes, says: str) -> None:
    before = settled(platform)
    refused(platform, post_raw(platform, "momentum", "momentum", "/v1/wins", body), 400, says)
    assert settled(platform) == before


TIMES = [
    ("momentum", "momentum", "/v1/actions", {**action([]), "when": "9999-12-31T23:59:59-12:00"}, "when"),
    ("momentum", "momentum", "/v1/wins", {**WIN, "occurred_at": "0001-01-01T00:00:00+14:00"}, "occurred_at"),
    ("momentum", "momentum", "/v1/attacks", {**ATTACK, "occurred_at": "2201-01-01T00:00:00Z"}, "occurred_at"),
    ("momentum", "momentum", "/v1/actions", {**action([]), "when": "1899-12-31T23:59:59Z"}, "when"),
]


@pytest.mark.parametrize(("org", "service", "path", "body", "field"), TIMES, ids=[t[4] + t[3][t[4]][:4] for t in TIMES])
def test_instants_that_do_not_convert_to_utc_are_refused(
    platform: Running, org: str, service: str, path: str, body: dict, field: str
) -> None:
    """The year 9999 at UTC−12 is in the year 10000 in UTC; the year 1 at UTC+14 before the
    year 1: a 400 naming the field (years 1900 to 2200 are allowed), never a 500."""
    before = settled(platform)
    resp = platform.post(org, service, path, body)
    refused(platform, resp, 400, field, "1900")
    assert any(field in (e.get("message", "") + e.get("key", "")) for e in resp.json().get("extra", []))
    assert settled(platform) == before
    still_flowing(platform)


def test_instants_of_pledges_pickets_and_resolutions_are_checked_too(platform: Running) -> None:
    strike = platform.post("rmt", "unions", "/v1/strikes",
                           {"employer": "Example Rail Ltd", "sector": "rail", "workplaces": ["Euston depot"],
                            "starts_on": "2026-12-01", "ends_on": "2026-12-03", "members_involved": 4000})
    attack = platform.post("rmt", "unions", "/v1/attacks", ATTACK)
    called = platform.post("rmt", "unions", "/v1/actions", action([]))
    platform.wait_on_board(called.json()["id"])
    far = "9999-12-31T23:59:59-12:00"
    for path, body, field in [
        (f"/v1/strikes/{strike.json()['id']}/pickets", {"where": "Euston", "when": far}, "when"),
        (f"/v1/attacks/{attack.json()['id']}/resolution", {"outcome": "reinstated", "occurred_at": far}, "occurred_at"),
        (f"/v1/actions/{called.json()['id']}/pledges", {"people": 3, "occurred_at": far}, "occurred_at"),
    ]:
        refused(platform, platform.post("rmt", "unions", path, body), 400, field)
    still_flowing(platform)


def attack_event(summary: str) -> list:
    """The domain event of an attack report made without the command's checks."""
    attack = Attack(org="momentum", attack_kind="other", targets=[Target(kind="member", name="A. Member")],
                    summary=summary, severity="low", sources=[], occurred_at=datetime.now(UTC),
                    sharing=Sharing())
    return list(attack.collect_events())


def test_an_event_the_log_could_not_carry_is_refused_before_it_is_stored() -> None:
    """The check the group committer runs before it queues a command's events: translated,
    encoded and measured (over 512 KiB: too large), and decoded again as a reader would."""
    check_publishable("momentum", attack_event("An ordinary report"))
    with pytest.raises(TooLargeToPublish, match="bytes on the shared log"):
        check_publishable("momentum", attack_event("x" * 600_000))
    with pytest.raises(Unpublishable, match="summary"):
        check_publishable("momentum", attack_event("nul\u0000here"))


def test_a_relay_that_cannot_publish_says_so_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    """Failing eight times a second for over two minutes gives three reports (the first
    failure, then one a minute with the count of attempts), and one line when it works again."""
    now = [0.0]
    trouble = Trouble("scg", clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="coalition.relay"):
        for _ in range(1000):
            trouble.failed("cannot publish after notification 7; retrying", RuntimeError("maximum payload exceeded"))
            now[0] += 0.125
        trouble.over()
    lines = [r.getMessage() for r in caplog.records if r.name == "coalition.relay"]
    assert len(lines) == 4, lines
    assert "retrying" in lines[0] and "failed attempts" not in lines[0]
    assert "480 failed attempts in the last 60s" in lines[1] and "480 failed attempts in the last 60s" in lines[2]
    assert "working again after 1000 failed attempts in 125s" in lines[3]


def test_a_board_built_with_integer_head_counts_is_widened(platform: Running) -> None:
    """Boards made before the head counts were ``bigint`` get them on the projection's start."""
    old = "board_integers_test"
    with psycopg.connect(platform.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {old} CASCADE")
        schema.create(conn, old)
        conn.execute(f"ALTER TABLE {old}.items ALTER COLUMN people_pledged TYPE integer, "
                     "ALTER COLUMN people_wanted TYPE integer, ALTER COLUMN pledge_count TYPE integer")
        conn.execute(f"ALTER TABLE {old}.pledges ALTER COLUMN people TYPE integer")
        schema.create(conn, old)
        types = conn.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                             "AND column_name IN ('people_pledged', 'people_wanted', 'pledge_count', 'people')",
                             [old]).fetchall()
        conn.execute(f"DROP SCHEMA {old} CASCADE")
    assert sorted(types) == [("people", "bigint"), ("people_pledged", "bigint"), ("people_wanted", "bigint"),
                             ("pledge_count", "bigint")]


def envelope(data: AttackReported, subject: str | None = None) -> bytes:
    return encode_envelope(CloudEvent(id=str(uuid.uuid4()), source="/services/scg", type="attack.reported.v1",
                                      subject=subject or str(uuid.uuid4()), time=datetime.now(UTC),
                                      tlp=data.tlp, data=data))


def report(summary: str) -> AttackReported:
    return AttackReported(org="scg", occurred_at=datetime.now(UTC), attack_kind="other",
                          targets=[Target(kind="member")], summary=summary)


def test_what_the_board_cannot_apply_is_quarantined_and_the_rest_applied(platform: Running) -> None:
    """In one batch: a good event, bytes that are no event, an item reported twice, and a
    good event again. The batch fails as a whole; one event at a time, the two good ones
    are applied and the two others set aside with their error and bytes."""
    target = "board_quarantine_test"
    first, again = str(uuid.uuid4()), str(uuid.uuid4())
    twice = str(uuid.uuid4())
    received = [(1, envelope(report("first"), first)), (2, b"\x00 not an event"),
                (3, envelope(report("original"), twice)), (4, envelope(report("forged copy"), twice)),
                (5, envelope(report("again"), again))]
    with psycopg.connect(platform.database_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {target} CASCADE")
        schema.create(conn, target)
        with conn.transaction():
            quarantined = apply_received(conn, received, target)
        items = dict(conn.execute(f"SELECT id, summary FROM {target}.items").fetchall())
        rejected = schema.rejected(conn, target)
        position = schema.position(conn, target)
        conn.execute(f"DROP SCHEMA {target} CASCADE")
    assert quarantined == [2, 4]
    assert items == {first: "first", twice: "original", again: "again"}
    assert [(seq, bytes(raw)) for seq, _, raw, _ in rejected] == [(2, received[1][1]), (4, received[3][1])]
    assert "not a valid shared event" in rejected[0][1] and "duplicate key" in rejected[1][1]
    assert position == 5


def test_a_forged_message_the_board_cannot_apply_is_quarantined_and_the_board_goes_on(tmp_path: Path) -> None:
    """Bytes that are no event, and an event that decodes but repeats an item already on the
    board, published straight onto ``coalition.scg.attack.reported``: the board sets both
    aside, moves past them, and keeps showing what comes next; ``coalition status`` lists
    them, the board page warns, and a rebuild sets the same events aside."""
    platform = start_platform(tmp_path / "data")
    try:
        _forge_and_watch(platform)
    finally:
        stop_platform(platform)


def _forge_and_watch(platform: Running) -> None:
    genuine = platform.post("scg", "scg", "/v1/attacks", ATTACK).json()["id"]
    platform.wait_on_board(genuine)
    garbage = b"\x00\xff not a cloud event {"
    copy = envelope(report("A forged copy of an item already on the board"), genuine)

    async def forge() -> None:
        nc = await nats.connect(platform.nats_url)
        try:
            js = nc.jetstream()
            for payload in (garbage, copy):
                await js.publish("coalition.scg.attack.reported", payload)
        finally:
            await nc.close()

    asyncio.run(forge())
    deadline = time.monotonic() + 20
    while True:
        with psycopg.connect(platform.database_url) as conn:
            rejected = schema.rejected(conn)
        if len(rejected) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted(bytes(raw) for _, _, raw, _ in rejected) == sorted([garbage, copy])
    errors = {bytes(raw): error for _, error, raw, _ in rejected}
    assert "not a valid shared event" in errors[garbage]
    assert "already on the board" in errors[copy] or "duplicate key" in errors[copy]

    # the board goes on, and the genuine item is as it was
    still_flowing(platform, "momentum", "momentum")
    item = next(i for i in platform.board()["items"] if i["id"] == genuine)
    assert item["summary"] == ATTACK["summary"]
    assert platform.board()["position"] > max(seq for seq, _, _, _ in rejected)

    status = subprocess.run([sys.executable, "-m", "coalition.cli", "status", "--data-dir", str(platform.data_dir)],
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    assert "quarantined events: 2" in status.stdout
    for seq, _, _, _ in rejected:
        assert f"seq {seq} " in status.stdout
    assert "not a valid shared event" in status.stdout and "not a cloud event" in status.stdout

    page = httpx.get(platform.url("forum", "/"), timeout=30)
    assert 'id="rejected"' in page.text and "could not apply" in page.text and "2 events" in page.text

    live = board_rows(platform.database_url)
    with psycopg.connect(platform.database_url) as conn:
        before = [(seq, error, bytes(raw)) for seq, error, raw, _ in schema.rejected(conn)]
    rebuilt = subprocess.run([sys.executable, "-m", "coalition.cli", "rebuild", "board", "--data-dir",
                              str(platform.data_dir)], capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    with psycopg.connect(platform.database_url) as conn:
        after = [(seq, error, bytes(raw)) for seq, error, raw, _ in schema.rejected(conn)]
    assert board_rows(platform.database_url) == live
    assert [(seq, bytes(raw)) for seq, _, raw in after] == [(seq, bytes(raw)) for seq, _, raw in before]
    still_flowing(platform, "momentum", "momentum")


def test_the_schema_snapshot_documents_the_limits() -> None:
    """Partners see the limits in the published JSON Schema of the commands' events."""
    schema_ = msgspec.json.schema(AttackReported)
    props = schema_["$defs"]["AttackReported"]["properties"]
    assert props["refs"]["maxItems"] == 100 and props["targets"]["maxItems"] == 200
    assert props["sources"]["maxItems"] == 50
    assert "\\x00" in props["summary"]["pattern"]
    assert json.dumps(schema_)  # JSON all the way down
