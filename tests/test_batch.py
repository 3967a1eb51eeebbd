"""A publisher sends a burst of commands in one ``POST /v1/batch``: each is answered as it
would be alone, what is refused is neither stored nor published, and a retried batch
stores nothing twice. On the real engines."""

from __future__ import annotations

import signal
import threading
import time
import uuid

import httpx
import msgspec
import psycopg

from events.settings import batch_max_commands
from tests.bodies import ATTACK, STRIKE, action
from tests.conftest import Running
from tests.shared_log import (
    assert_exactly_once_in_order,
    read_stream,
    stored_and_published,
    stored_notifications,
)
from tests.test_crashes import wait_healthy


def batch(p: Running, org: str, service: str, commands: list[dict], **headers: str) -> httpx.Response:
    return httpx.post(p.url(service, "/v1/batch"), json={"commands": commands},
                      headers={**p.headers(org), **headers}, timeout=60)


def settled(p: Running) -> tuple[int, int]:
    """Stored and published counts once the relays have caught up."""
    deadline = time.monotonic() + 10
    while True:
        stored, published = stored_and_published(p)
        if stored == published or time.monotonic() > deadline:
            return stored, published
        time.sleep(0.05)


def items_stored_after(p: Running, service: str, notification: int) -> set[str]:
    """The items whose events ``service`` stored after ``notification``."""
    with psycopg.connect(p.database_url) as conn:
        rows = conn.execute(f"SELECT DISTINCT originator_id FROM {service}.{service}_events "  # noqa: S608
                            "WHERE notification_id > %s", (notification,)).fetchall()
    return {str(r[0]) for r in rows}


def last_notification(p: Running, service: str) -> int:
    with psycopg.connect(p.database_url) as conn:
        row = conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {service}.{service}_events").fetchone()  # noqa: S608
    return int(row[0])


def test_a_mixed_burst_is_answered_command_by_command(platform: Running) -> None:
    """Momentum's local groups report a burst: two good reports, one with a broken field,
    one claiming to be another organisation, a call to action, the same report twice under
    one key, and one already sent alone before the burst. Each gets its own answer; exactly
    the new good ones are stored, published and on the board."""
    sent_alone, twice = str(uuid.uuid4()), str(uuid.uuid4())
    earlier_body = {**ATTACK, "summary": "Reported alone first"}
    # sent alone as the batch sends its commands (compact JSON): the same bytes, the same command
    alone = httpx.post(platform.url("momentum", "/v1/attacks"), content=msgspec.json.encode(earlier_body),
                       headers={**platform.headers("momentum"), "Idempotency-Key": sent_alone,
                                "Content-Type": "application/json"}, timeout=30)
    assert alone.status_code == 201, alone.text
    before_stored, _ = settled(platform)
    since = last_notification(platform, "momentum")

    resp = batch(platform, "momentum", "momentum", [
        {"command": "reportAttack", "body": ATTACK, "idempotency_key": twice},
        {"command": "reportAttack", "body": {**ATTACK, "targets": []}},
        {"command": "reportAttack", "body": {**ATTACK, "org": "scg"}},
        {"command": "callAction", "body": action([])},
        {"command": "reportAttack", "body": ATTACK, "idempotency_key": twice},
        {"command": "reportAttack", "body": earlier_body, "idempotency_key": sent_alone},
        {"command": "reportAttack", "body": {**ATTACK, "summary": "Another"}, "idempotency_key": twice},
    ])

    assert resp.status_code == 200, resp.text
    report, broken, impostor, rally, repeat, earlier, reused = resp.json()["results"]
    assert report["status"] == 201 and "replayed" not in report
    assert broken["status"] == 400 and broken["extra"][0]["key"] == "targets", broken
    assert impostor["status"] == 403 and "scg" in impostor["detail"]
    assert rally["status"] == 201
    assert repeat == {"status": 201, "id": report["id"], "replayed": True}
    assert earlier == {"status": 201, "id": alone.json()["id"], "replayed": True}
    assert reused["status"] == 422 and "idempotency_key" in reused["detail"]

    assert items_stored_after(platform, "momentum", since) == {report["id"], rally["id"]}
    stored, published = settled(platform)
    assert stored == published == before_stored + 2
    board = platform.wait_on_board(report["id"], rally["id"])
    assert sum(1 for item in board["items"] if item["id"] in (report["id"], rally["id"])) == 2


def test_a_retried_batch_stores_and_publishes_nothing_twice(platform: Running) -> None:
    """The RMT's client sends a burst, loses the answer, and sends the very same batch again:
    the same ids come back, replayed, and the log holds each command once."""
    commands = [
        {"command": "callStrike", "body": STRIKE, "idempotency_key": str(uuid.uuid4())},
        {"command": "reportAttack", "body": {**ATTACK, "tlp": "CLEAR"}, "idempotency_key": str(uuid.uuid4())},
        {"command": "requestSolidarity", "idempotency_key": str(uuid.uuid4()),
         "body": {"help": ["people_on_picket"], "summary": "Pickets at Euston", "tlp": "GREEN"}},
    ]
    first = batch(platform, "rmt", "unions", commands)
    assert first.status_code == 200, first.text
    assert [r["status"] for r in first.json()["results"]] == [201, 201, 201], first.text
    ids = [r["id"] for r in first.json()["results"]]
    platform.wait_on_board(*ids)
    before = settled(platform)

    again = batch(platform, "rmt", "unions", commands)

    assert again.status_code == 200, again.text
    assert again.json()["results"] == [{"status": 201, "id": i, "replayed": True} for i in ids]
    assert settled(platform) == before
    published = read_stream(platform.nats_url)
    assert sorted(p.item for p in published if p.item in ids) == sorted(ids)
    assert_exactly_once_in_order(platform.database_url, published, "unions")


def test_a_malformed_batch_is_refused_whole(platform: Running) -> None:
    """A batch the document does not allow is a 400 that names the problem, and none of its
    commands is done — not even the good ones beside the fault."""
    good = {"command": "reportAttack", "body": ATTACK}
    before = settled(platform)
    limit = batch_max_commands()

    unknown = batch(platform, "scg", "scg", [good, {"command": "callStrike", "body": STRIKE}])
    too_many = batch(platform, "scg", "scg", [good] * (limit + 1))
    bad_key = batch(platform, "scg", "scg", [good, {**good, "idempotency_key": "not a key"}])
    not_a_body = batch(platform, "scg", "scg", [good, {"command": "reportAttack", "body": [1, 2]}])
    whole_key = batch(platform, "scg", "scg", [good], **{"Idempotency-Key": str(uuid.uuid4())})
    empty = batch(platform, "scg", "scg", [])

    assert unknown.status_code == 400 and unknown.json()["extra"][0]["key"] == "commands[1].command", unknown.text
    assert too_many.status_code == 400 and str(limit) in too_many.json()["extra"][0]["message"], too_many.text
    assert bad_key.status_code == 400 and bad_key.json()["extra"][0]["key"] == "commands[1].idempotency_key"
    assert not_a_body.status_code == 400 and not_a_body.json()["extra"][0]["key"] == "commands[1].body"
    assert whole_key.status_code == 400 and "idempotency_key" in whole_key.json()["detail"]
    assert empty.status_code == 400
    assert settled(platform) == before


def test_only_publishers_take_batches_and_only_from_their_own(platform: Running) -> None:
    """The forum has no batch; a key of another service's organisation is refused."""
    good = [{"command": "reportAttack", "body": ATTACK}]
    assert batch(platform, "forum", "forum", good).status_code in (404, 405)
    assert batch(platform, "momentum", "scg", good).status_code == 403
    assert httpx.post(platform.url("scg", "/v1/batch"), json={"commands": good}, timeout=10).status_code == 401


def push_batches(p: Running, stop: threading.Event, answered: dict[str, str]) -> None:
    """A publisher's client sending bursts of 20 reports, each with its own key, and sending a
    burst again — the same commands, the same keys — until it gets an answer."""
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            keys = [str(uuid.uuid4()) for _ in range(20)]
            body = {"commands": [{"command": "reportAttack", "body": ATTACK, "idempotency_key": k} for k in keys]}
            while True:
                try:
                    resp = client.post(p.url("momentum", "/v1/batch"), json=body, headers=p.headers("momentum"))
                except httpx.HTTPError:
                    time.sleep(0.05)  # the service is down: retried later, as a partner would
                    continue
                if resp.status_code == 200:
                    break
                time.sleep(0.05)  # a 503 while it starts again
            for key, result in zip(keys, resp.json()["results"]):
                assert result["status"] == 201, result
                answered[key] = result["id"]


def test_a_service_killed_mid_batch_loses_nothing_and_stores_nothing_twice(platform: Running) -> None:
    """The movement's service is killed with SIGKILL while bursts are being committed; the
    clients send each unanswered burst again. Every command is stored and published exactly
    once: those committed before the crash are answered from their keys, the rest are new."""
    since = last_notification(platform, "momentum")
    answered: dict[str, str] = {}
    stop = threading.Event()
    threads = [threading.Thread(target=push_batches, args=(platform, stop, answered)) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        victim = platform.child("momentum")
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        wait_healthy(platform, "momentum")
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert platform.child("momentum").pid != victim.pid
    assert len(answered) > 100
    ids = set(answered.values())
    assert len(ids) == len(answered), "two keys were given one id"

    assert items_stored_after(platform, "momentum", since) == ids, "stored is not exactly what was answered"
    stored = stored_notifications(platform.database_url, "momentum")
    deadline = time.monotonic() + 30
    while True:
        published = read_stream(platform.nats_url)
        if sum(1 for e in published if e.service == "momentum") >= len(stored) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    reported = [e.item for e in published if e.service == "momentum" and e.kind == "attack.reported.v1"]
    assert_exactly_once_in_order(platform.database_url, published, "momentum")
    assert ids <= set(reported) and len(reported) == len(set(reported))
