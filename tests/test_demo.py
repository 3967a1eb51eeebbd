"""The demo runs a whole response: after ``coalition demo`` a visitor finds on the board
an attack triaged and responded to by named coordinators, tasks assigned (some done, some
open), a consent decision stopped by a block and one agreed, the win, and the review."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from coalition.demo import MEMBERS, drive
from tests.conftest import Running


def decision(platform: Running, decision_id: str) -> dict[str, Any]:
    resp = httpx.get(platform.url("forum", f"/api/decisions/{decision_id}"), timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_the_demo_leaves_a_board_with_a_whole_response(platform: Running) -> None:
    ids: dict[str, str] = {}
    figures = asyncio.run(drive(platform.data_dir, wave=0, ids=ids))
    assert figures["scenario_commands"] >= 40

    suspension = platform.wait_for_item(ids["suspension"], lambda i: i["status"] == "resolved" and "review" in i["detail"])
    assert suspension["priority"] == "urgent" and suspension["lead_org"] == "momentum"
    assert suspension["detail"]["response"]["plan"].startswith("Legal support for the appeals")
    assert suspension["detail"]["review"]["actor"] == "Forum duty coordinator"
    assert suspension["tasks_open"] == 0  # the movement, the caucus and the FBU each marked theirs done
    strike = platform.wait_for_item(ids["strike"], lambda i: i["tasks_open"] == 2)
    assert (strike["status"], strike["lead_org"], strike["tasks_open"]) == ("responding", "rmt", 2)
    longlist = platform.wait_for_item(ids["longlist"], lambda i: i["status"] == "resolved")
    assert longlist["status"] == "resolved"
    board = platform.board()
    wins = [i for i in board["items"] if i["kind"] == "win" and ids["suspension"] in i["refs"]]
    assert len(wins) == 1

    # what people did is theirs: the timeline names each coordinator who acted
    timeline = httpx.get(platform.url("forum", f"/api/items/{ids['suspension']}/timeline"), timeout=30).json()
    actors = {entry["actor"] for entry in timeline if entry["actor"]}
    assert {"Forum duty coordinator", "Momentum coordinator", "FBU coordinator"} <= actors, actors

    blocked, agreed = decision(platform, ids["blocked"]), decision(platform, ids["agreed"])
    assert blocked["status"] == "open" and blocked["outcome"] is None
    assert blocked["current_positions"] == {"forum": "agree", "momentum": "agree", "rmt": "block", "fbu": "agree"}
    assert (agreed["status"], agreed["outcome"], agreed["decided_actor"]) == ("decided", "yes", "Forum duty coordinator")
    assert set(agreed["current_positions"].values()) == {"agree"} and len(agreed["current_positions"]) == 4

    # the MP's AMBER attack is the coordinators' to see: triaged, urgent, led by the caucus
    as_forum = httpx.get(platform.url("forum", "/api/board"), headers=platform.headers("forum"), timeout=30).json()
    mp = next(i for i in as_forum["items"] if i["id"] == ids["mp"])
    assert (mp["status"], mp["priority"], mp["lead_org"]) == ("acknowledged", "urgent", "scg")
    assert ids["mp"] not in {i["id"] for i in board["items"]}

    # issue 11's story: the casework (names never on the board), a ballot that met its
    # thresholds on the strike's card, the MP's visit, the local group's motion, turnout
    suspension = platform.wait_for_item(ids["suspension"], lambda i: i["detail"].get("casework", {}).get("outcome"))
    assert (suspension["detail"]["casework"]["stage"], suspension["detail"]["casework"]["outcome"]) == (
        "closed", "reinstated")
    assert "rmt" in suspension["detail"]["corroborations"]
    as_forum = httpx.get(platform.url("forum", "/api/board"), headers=platform.headers("forum"), timeout=30)
    for text in (as_forum.text, httpx.get(platform.url("forum", "/api/board"), timeout=30).text):
        assert not any(name in text for name in MEMBERS), "a member's name on the board"

    strike = platform.wait_for_item(ids["strike"], lambda i: "ballot" in i["detail"])
    assert strike["detail"]["ballot"]["threshold_met"] is True
    visit = platform.wait_for_item(ids["visit"], lambda i: i["detail"].get("visit_state") == "confirmed")
    assert visit["detail"]["mp"] == "J. Example MP"
    motion = platform.wait_for_item(ids["motion"], lambda i: True)
    assert ids["suspension"] in motion["refs"] and motion["detail"]["group"]["name"] == "Momentum Camden"
    vigil = platform.wait_for_item(ids["vigil"], lambda i: i["detail"].get("turnout") == 52)
    assert (vigil["people_wanted"], vigil["people_pledged"]) == (60, 45)
