"""The coordinators' workflow on the real engines: people log in (Argon2 passwords,
session cookies, CSRF-checked forms), an observer changes nothing, every change reaches
the shared log attributed to the person and the organisation, a block stops a consent
decision until it is lifted, and an unacknowledged critical attack is escalated once."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator

import httpx
import nats
import pytest
from nats.js.api import DeliverPolicy

from contracts import decode_envelope
from contracts.envelope import CloudEvent
from tests import bodies
from tests.conftest import Running, start_platform, stop_platform


def passwords(platform: Running) -> dict[str, str]:
    return json.loads((platform.data_dir / "secrets.json").read_text())["coordinators"]


def log_in(platform: Running, username: str, password: str | None = None) -> tuple[httpx.Client, httpx.Response]:
    """A browser-like client: it fetches the login page (and its CSRF cookie), then logs in."""
    client = httpx.Client(base_url=platform.endpoints["forum"], timeout=30)
    page = client.get("/login")
    assert page.status_code == 200 and "coalition_csrf" in client.cookies
    resp = client.post("/login", data={"username": username, "_csrf_token": client.cookies["coalition_csrf"],
                                       "password": password if password is not None else passwords(platform)[username]})
    return client, resp


def form(client: httpx.Client, path: str, **fields: object) -> httpx.Response:
    """A form post from the board, with its CSRF token, asking for the JSON answer."""
    data = {"_csrf_token": client.cookies["coalition_csrf"], **{k: v for k, v in fields.items()}}
    return client.post(path, data=data, headers={"Accept": "application/json",
                                                 "Idempotency-Key": str(uuid.uuid4())})


def reported(platform: Running, **changes: object) -> str:
    resp = platform.post("rmt", "unions", "/v1/attacks", {**bodies.ATTACK, **changes})
    assert resp.status_code == 201, resp.text
    item: str = resp.json()["id"]
    platform.wait_on_board(item)
    return item


def forum_events(platform: Running, until: int, timeout: float = 20.0) -> list[CloudEvent]:
    """The forum's events on the shared log, once there are at least ``until``."""
    async def read() -> list[CloudEvent]:
        nc = await nats.connect(platform.nats_url)
        try:
            js = nc.jetstream()
            info = await js.stream_info("COALITION", subjects_filter="coalition.forum.>")
            count = sum((info.state.subjects or {}).values()) if info.state.subjects else 0
            if not count:
                return []
            sub = await js.subscribe("coalition.forum.>", stream="COALITION", ordered_consumer=True,
                                     deliver_policy=DeliverPolicy.ALL)
            out = [decode_envelope((await sub.next_msg(timeout=10)).data) for _ in range(count)]
            await sub.unsubscribe()
            return out
        finally:
            await nc.close()

    deadline = time.monotonic() + timeout
    while True:
        events = asyncio.run(read())
        if len(events) >= until or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def about(events: list[CloudEvent], item: str) -> list[CloudEvent]:
    return [e for e in events if e.subject == item or item in e.data.refs or getattr(e.data, "item", None) == item]


def test_a_wrong_password_is_refused_and_the_right_one_opens_a_session(platform: Running) -> None:
    _, wrong = log_in(platform, "momentum-coordinator", "not the password")
    assert wrong.status_code == 401
    client, right = log_in(platform, "momentum-coordinator")
    assert right.status_code == 303
    cookie = next(c for c in right.headers.get_list("set-cookie") if c.startswith("coalition_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert client.get("/api/me").json() == {"user": "momentum-coordinator", "name": "Momentum coordinator",
                                            "org": "momentum", "role": "coordinator"}
    assert client.post("/logout", data={"_csrf_token": client.cookies["coalition_csrf"]}).status_code == 303
    assert client.get("/api/me").json() == {}


def test_a_form_without_the_csrf_token_is_refused(platform: Running) -> None:
    item = reported(platform)
    client, _ = log_in(platform, "momentum-coordinator")
    refused = client.post(f"/forms/items/{item}/acknowledge", data={"note": "forged"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    forged = client.post(f"/forms/items/{item}/acknowledge", data={"_csrf_token": "x" * 128})
    assert forged.status_code == 403
    anonymous = httpx.post(platform.url("forum", "/login"), data={"username": "observer", "password": "x"})
    assert anonymous.status_code == 403  # even logging in needs the token (login CSRF)


def test_an_observer_may_change_nothing(platform: Running) -> None:
    item = reported(platform)
    client, resp = log_in(platform, "observer")
    assert resp.status_code == 303
    for path, fields in [(f"/forms/items/{item}/acknowledge", {}), (f"/forms/items/{item}/priority", {"priority": "low"}),
                         (f"/forms/items/{item}/response", {"lead_org": "rmt", "plan": "x"}),
                         ("/forms/decisions", {"question": "?", "method": "majority"})]:
        answer = form(client, path, **fields)
        assert answer.status_code == 403, (path, answer.text)
    assert not about(forum_events(platform, 0, timeout=0), item)


def test_the_workflow_reaches_the_log_attributed_to_the_person_and_organisation(platform: Running) -> None:
    item = reported(platform, severity="critical")
    alex, _ = log_in(platform, "momentum-coordinator")
    sam, _ = log_in(platform, "fbu-coordinator")
    assert form(alex, f"/forms/items/{item}/acknowledge", note="On it").status_code == 201
    assert form(sam, f"/forms/items/{item}/acknowledge").status_code == 409
    assert form(sam, f"/forms/items/{item}/lead", lead_org="fbu").status_code == 201
    response = form(alex, f"/forms/items/{item}/response", lead_org="fbu", plan="Statement and a picket visit")
    assert response.status_code == 201, response.text
    task = form(alex, f"/forms/items/{item}/tasks", assignee="fbu", task="Call the branch",
                due="2026-12-01T09:00:00Z")
    assert task.status_code == 201, task.text
    task_id = task.json()["id"]
    assert form(sam, f"/forms/tasks/{task_id}/done", note="Called").status_code == 201
    assert form(sam, f"/forms/tasks/{task_id}/done").status_code == 409
    assert form(alex, f"/forms/items/{item}/resolve", note="Reinstated").status_code == 201
    assert form(alex, f"/forms/items/{item}/review", worked="One voice", did_not="Late").status_code == 201
    # a machine with the forum's key uses the same commands
    machine = httpx.post(platform.url("forum", f"/v1/items/{item}/priority"), json={"priority": "low"},
                         headers=platform.headers("forum"), timeout=30)
    assert machine.status_code == 201, machine.text

    events = about(forum_events(platform, 0), item)
    deadline = time.monotonic() + 20
    while len(events) < 9 and time.monotonic() < deadline:
        events = about(forum_events(platform, 0), item)
    assert [(e.type, e.data.org, e.data.actor) for e in events] == [
        ("item.triaged.v1", "momentum", "Momentum coordinator"),
        ("item.triaged.v1", "fbu", "FBU coordinator"),
        ("response.opened.v1", "momentum", "Momentum coordinator"),
        ("item.triaged.v1", "momentum", "Momentum coordinator"),
        ("task.assigned.v1", "momentum", "Momentum coordinator"),
        ("task.done.v1", "fbu", "FBU coordinator"),
        ("item.triaged.v1", "momentum", "Momentum coordinator"),
        ("review.recorded.v1", "momentum", "Momentum coordinator"),
        ("item.triaged.v1", "forum", None),
    ]
    triaged = [e.data for e in events if e.type == "item.triaged.v1"]
    assert [(t.status, t.priority) for t in triaged] == [
        ("acknowledged", "urgent"), ("acknowledged", "urgent"), ("responding", "urgent"), ("resolved", "urgent"),
        ("resolved", "low")]
    board_item = platform.wait_for_item(item, lambda i: i["priority"] == "low")
    assert (board_item["status"], board_item["priority"]) == ("resolved", "low")


def test_a_block_stops_a_consent_decision_until_it_is_lifted(platform: Running) -> None:
    item = reported(platform)
    alex, _ = log_in(platform, "momentum-coordinator")
    sam, _ = log_in(platform, "fbu-coordinator")
    proposed = form(alex, "/forms/decisions", question="Go public before the appeal?", method="consent",
                    options="Public statement now\nWait for the appeal", refs=item, review_on="2026-12-10")
    assert proposed.status_code == 201, proposed.text
    decision = proposed.json()["id"]
    assert form(sam, f"/forms/decisions/{decision}/positions", position="block",
                reason="Members not consulted").status_code == 201
    assert form(alex, f"/forms/decisions/{decision}/positions", position="agree").status_code == 201
    blocked = form(alex, f"/forms/decisions/{decision}/outcome", outcome="Public statement now", rationale="Now")
    assert blocked.status_code == 409 and "blocked by fbu" in blocked.text and "Members not consulted" in blocked.text
    assert form(sam, f"/forms/decisions/{decision}/positions", position="agree", reason="Consulted").status_code == 201
    made = form(alex, f"/forms/decisions/{decision}/outcome", outcome="Public statement now",
                rationale="Silence reads as consent")
    assert made.status_code == 201, made.text

    events = [e for e in forum_events(platform, 0) if e.subject == decision]
    deadline = time.monotonic() + 20
    while len(events) < 5 and time.monotonic() < deadline:
        events = [e for e in forum_events(platform, 0) if e.subject == decision]
    proposal, outcome = events[0].data, events[-1].data
    assert proposal.refs == [item] and proposal.options == ["Public statement now", "Wait for the appeal"]
    assert proposal.board_position > 0 and len(proposal.board_digest) == 64
    assert outcome.decided_by == ["fbu", "momentum"] and outcome.actor == "Momentum coordinator"
    assert outcome.board_position >= proposal.board_position and len(outcome.board_digest) == 64


@pytest.fixture(scope="module")
def hasty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A platform that escalates after 1.2 seconds."""
    before = os.environ.get("COALITION_ESCALATE_AFTER_MINUTES")
    os.environ["COALITION_ESCALATE_AFTER_MINUTES"] = "0.02"
    try:
        running = start_platform(tmp_path_factory.mktemp("hasty") / "data")
    finally:
        if before is None:
            del os.environ["COALITION_ESCALATE_AFTER_MINUTES"]
        else:
            os.environ["COALITION_ESCALATE_AFTER_MINUTES"] = before
    yield running
    stop_platform(running)


def test_an_unacknowledged_critical_attack_is_escalated_once(hasty: Running) -> None:
    critical = reported(hasty, severity="critical")
    acknowledged = reported(hasty, severity="critical")
    low = reported(hasty, severity="low")
    answer = httpx.post(hasty.url("forum", f"/v1/items/{acknowledged}/acknowledge"), json={},
                        headers=hasty.headers("forum"), timeout=30)
    assert answer.status_code == 201, answer.text
    time.sleep(4)  # the delay, and several rounds after it
    escalated = [e for e in forum_events(hasty, 1) if e.type == "item.escalated.v1"]
    assert [e.data.item for e in escalated] == [critical]
    assert not [e for e in escalated if e.data.item in (acknowledged, low)]


def test_two_forum_processes_racing_escalate_an_item_once(hasty: Running) -> None:
    """Two forum applications on the same store (as two processes would be) escalate the
    same item at the same moment: the store takes one, the other is a version conflict."""
    from eventsourcing.persistence import RecordConflictError

    from services.application import open_application
    from services.domain.escalation import Escalation
    from services.domain.sharing import Sharing
    from services.forum import ForumApp

    item = str(uuid.uuid4())
    one, two = (open_application(ForumApp, hasty.database_url) for _ in range(2))
    try:
        first = one.escalate(item, Sharing(), "race")
        second = two.escalate(item, Sharing(), "race")
        one.save(first)
        with pytest.raises(RecordConflictError):
            two.save(second)
        assert len(list(two.events.get(Escalation.create_id(item)))) == 1
    finally:
        one.close()
        two.close()


def test_a_multipart_form_with_an_idempotency_key_is_answered_once(platform: Running) -> None:
    """A browser may post a form as multipart (FormData) with a key: the CSRF check has read
    the body by then, so the retry's fields are what must repeat — never a 500."""
    item = reported(platform)
    client, _ = log_in(platform, "momentum-coordinator")
    fields = {"_csrf_token": (None, client.cookies["coalition_csrf"]), "note": (None, "On it")}
    headers = {"Idempotency-Key": f"ack-{item}"}
    first = client.post(f"/forms/items/{item}/acknowledge", files=fields, headers=headers)
    again = client.post(f"/forms/items/{item}/acknowledge", files=fields, headers=headers)
    assert first.status_code < 500 and again.status_code < 500, (first.text, again.text)
    assert again.status_code == first.status_code
