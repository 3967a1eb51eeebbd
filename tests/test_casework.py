"""Casework on the real engines: no member's name leaves the movement's service.

A member in Wales is suspended for liking a post; Momentum reports the attack without
naming her, and its legal and pastoral support unit opens a case with her name and notes,
refers it for legal advice, records a hearing and closes it: reinstated. The board shows
that the attack had support and how it ended; the shared log (every stream), the board's
own copy of it, the board as every organisation sees it, the timeline, the page and the
live feed never carry her name or a note. The caseworker the case names reads it whole
with their own account; nobody else can.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

import httpx
import nats
import psycopg

from tests.bodies import UNNAMED_SUSPENSION, case
from tests.conftest import Running

ORGS = ("momentum", "scg", "rmt", "fbu", "forum")


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def password(platform: Running, username: str) -> str:
    return json.loads((platform.data_dir / "secrets.json").read_text())["coordinators"][username]


def stream_ends(platform: Running) -> dict[str, int]:
    """Every stream of the NATS server and its last sequence."""
    async def read() -> dict[str, int]:
        nc = await nats.connect(platform.nats_url)
        try:
            return {s.config.name: s.state.last_seq for s in await nc.jetstream().streams_info()}
        finally:
            await nc.close()
    return asyncio.run(read())


def messages_after(platform: Running, ends: dict[str, int]) -> dict[str, list[bytes]]:
    """Per stream, the raw bytes (headers and data) of every message after ``ends``."""
    async def read() -> dict[str, list[bytes]]:
        nc = await nats.connect(platform.nats_url)
        js = nc.jetstream()
        try:
            out: dict[str, list[bytes]] = {}
            for info in await js.streams_info():
                name = info.config.name
                out[name] = []
                for seq in range(ends.get(name, 0) + 1, info.state.last_seq + 1):
                    msg = await js.get_msg(name, seq)
                    out[name].append(msg.subject.encode() + json.dumps(msg.headers or {}).encode() + msg.data)
            return out
        finally:
            await nc.close()
    return asyncio.run(read())


def test_no_member_name_in_casework_leaves_the_movement(platform: Running) -> None:
    token = uuid.uuid4().hex[:10]
    member, note = f"Carys Ap-Rhys {token}", f"Carys told us the complaint is malicious {token}"
    reported = platform.post("momentum", "momentum", "/v1/attacks", UNNAMED_SUSPENSION)
    assert reported.status_code == 201, reported.text
    attack = reported.json()["id"]
    platform.wait_on_board(attack)
    ends = stream_ends(platform)
    with psycopg.connect(platform.database_url) as conn:
        board_from = conn.execute("SELECT seq FROM board.position").fetchone()[0]

    opened = platform.post("momentum", "momentum", "/v1/cases", case(attack, member, note))
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    for path, body in ((f"/v1/cases/{case_id}/referrals", {"referral": "legal_advice",
                                                           "note": f"{member} to see the solicitor"}),
                       (f"/v1/cases/{case_id}/steps", {"note": f"Hearing: {member} was heard {token}"}),
                       (f"/v1/cases/{case_id}/outcome", {"outcome": "reinstated", "note": f"{member} is back"})):
        resp = platform.post("momentum", "momentum", path, body)
        assert resp.status_code == 201, resp.text

    # the board shows that the attack had support, and how it ended
    item = platform.wait_for_item(attack, lambda i: i["detail"].get("casework", {}).get("stage") == "closed")
    casework = item["detail"]["casework"]
    assert (casework["org"], casework["referrals"], casework["steps"], casework["outcome"]) == (
        "momentum", ["legal_advice"], 1, "reinstated")

    # the shared log: every stream on the server, as raw bytes
    published = messages_after(platform, ends)
    case_events = [m for raw in published.values() for m in raw if case_id.encode() in m]
    assert len([m for m in published["COALITION"] if case_id.encode() in m]) == 4, "the case's four events"
    assert case_events, "the case's events are on the log"
    for name, raw in published.items():
        for message in raw:
            assert token.encode() not in message and b"Carys" not in message, f"a name or note on {name}"
            assert b"momentum-coordinator" not in message, f"a caseworker on {name}"

    # the board's copy of the log and its tables
    with psycopg.connect(platform.database_url) as conn:
        logged = conn.execute("SELECT raw FROM board.log WHERE seq > %s", [board_from]).fetchall()
        tables = conn.execute("SELECT string_agg(i::text, '') FROM board.items i").fetchone()[0]
        # …while the movement's own store keeps the case whole
        kept = conn.execute("SELECT count(*) FROM momentum.momentum_events WHERE position(%s in "
                            "convert_from(state, 'UTF8')) > 0", [token]).fetchone()[0]
    assert logged and all(token.encode() not in bytes(raw) for (raw,) in logged)
    assert token not in tables and "Carys" not in tables
    assert kept == 4

    # every organisation's view: the board, the timeline, the page, the live feed
    views = [httpx.get(platform.url("forum", "/api/board"), params={"limit": 5000}, timeout=30),
             httpx.get(platform.url("forum", f"/api/items/{attack}/timeline"), timeout=30),
             httpx.get(platform.url("forum", "/"), timeout=30)]
    for org in ORGS:
        views += [httpx.get(platform.url("forum", "/api/board"), params={"limit": 5000},
                            headers=platform.headers(org), timeout=30),
                  httpx.get(platform.url("forum", f"/api/items/{attack}/timeline"),
                            headers=platform.headers(org), timeout=30)]
    for resp in views:
        assert resp.status_code == 200, resp.text
        assert token not in resp.text and "Carys" not in resp.text, resp.request.url
    assert "Casework by momentum: closed" in views[2].text
    for headers in ({}, platform.headers("momentum")):
        with httpx.stream("GET", platform.url("forum", "/api/board/events"), headers=headers, timeout=30,
                          params={"last_event_id": board_from, "hold": 1.0}) as feed:
            text = "".join(feed.iter_text())
        assert case_id in text or attack in text, "the feed carried the change"
        assert token not in text and "Carys" not in text

    # the caseworker the case names reads it whole, marked RED for them
    mine = httpx.get(platform.url("momentum", f"/v1/cases/{case_id}"),
                     headers=basic("momentum-coordinator", password(platform, "momentum-coordinator")), timeout=30)
    assert mine.status_code == 200, mine.text
    whole = mine.json()
    assert (whole["member"], whole["tlp"], whole["audience"], whole["outcome"]) == (
        member, "RED", ["momentum-coordinator"], "reinstated")
    assert [e["note"] for e in whole["entries"]][0] == note


def test_only_the_caseworkers_named_read_a_case(platform: Running) -> None:
    reported = platform.post("momentum", "momentum", "/v1/attacks", UNNAMED_SUSPENSION)
    attack = reported.json()["id"]
    platform.wait_on_board(attack)
    opened = platform.post("momentum", "momentum", "/v1/cases",
                           case(attack, "Someone Private", "private", caseworkers=["legal-unit"]))
    assert opened.status_code == 201, opened.text
    url = platform.url("momentum", f"/v1/cases/{opened.json()['id']}")
    right = password(platform, "momentum-coordinator")
    # a caseworker of the movement the case does not name: as if there were no such case
    other = httpx.get(url, headers=basic("momentum-coordinator", right), timeout=30)
    assert other.status_code == 404 and "Someone" not in other.text
    # the organisation's key is not a person; a wrong password, another organisation's person
    for headers in ({}, platform.headers("momentum"), basic("momentum-coordinator", right + "x"),
                    basic("rmt-coordinator", password(platform, "rmt-coordinator"))):
        refused = httpx.get(url, headers=headers, timeout=30)
        assert refused.status_code == 401, refused.text
        assert "Someone" not in refused.text
