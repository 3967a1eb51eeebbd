"""The auditor's pages on the real engines: an item's timeline, the decisions and one
decision — who proposed what, on which evidence, each organisation's position, the
outcome, the board position and digest it was taken on and the board as it stood then,
with a digest that checks by the recipe the page gives — each showing only what the
reader's organisation may see, an unseen one answered exactly as an unknown one."""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
import uuid
from typing import Any

import httpx

from tests import bodies
from tests.conftest import Running
from tests.test_forum_workflow import form, log_in


def page(platform: Running, path: str, viewer: str | None = None, status: int = 200) -> str:
    resp = httpx.get(platform.url("forum", path), timeout=30, headers=platform.headers(viewer) if viewer else {})
    assert resp.status_code == status, (path, resp.status_code, resp.text[:500])
    assert resp.headers["content-type"].startswith("text/html")
    return resp.text


def api(platform: Running, path: str, viewer: str | None = None, **params: Any) -> Any:
    resp = httpx.get(platform.url("forum", path), params=params, timeout=30,
                     headers=platform.headers(viewer) if viewer else {})
    assert resp.status_code == 200, resp.text
    return resp.json()


def text_of(markup: str, element_id: str) -> str:
    """The text inside the element with ``id`` (no nested element of the same tag)."""
    found = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', markup, re.S)
    assert found, f"no element #{element_id}"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(2))).strip()


def reported(platform: Running, org: str, service: str, **changes: object) -> str:
    resp = platform.post(org, service, "/v1/attacks", {**bodies.ATTACK, **changes})
    assert resp.status_code == 201, resp.text
    item: str = resp.json()["id"]
    return item


def wait_for_decision(platform: Running, decision: str, viewer: str | None = None,
                      status: str = "decided") -> dict:
    deadline = time.monotonic() + 20
    while True:
        resp = httpx.get(platform.url("forum", f"/api/decisions/{decision}"), timeout=30,
                         headers=platform.headers(viewer) if viewer else {})
        if resp.status_code == 200 and resp.json()["status"] == status:
            return resp.json()
        assert time.monotonic() < deadline, f"decision {decision} never became {status}: {resp.text}"
        time.sleep(0.05)


def recomputed(board: dict) -> str:
    """The digest by the recipe the decision page gives an auditor (plain ``json``)."""
    canonical = {"position": board["position"],
                 "items": sorted(({**i, "tasks_overdue": 0} for i in board["items"]), key=lambda i: i["id"]),
                 "decisions": sorted(board["decisions"], key=lambda d: d["id"])}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_decision_page_shows_who_decided_what_on_which_evidence_and_the_board_then(platform: Running) -> None:
    attack = reported(platform, "momentum", "momentum", summary="MP threatened over a Gaza statement — «now»")
    platform.wait_on_board(attack)
    alex, _ = log_in(platform, "momentum-coordinator")
    sam, _ = log_in(platform, "fbu-coordinator")
    question = f"Hold a joint press conference? ({uuid.uuid4().hex[:6]})"
    proposed = form(alex, "/forms/decisions", question=question, method="consent",
                    options="Press conference tomorrow\nWritten statement only", refs=attack, review_on="2026-12-10")
    assert proposed.status_code == 201, proposed.text
    decision = proposed.json()["id"]
    assert form(sam, f"/forms/decisions/{decision}/positions", position="block",
                reason="Our executive meets first").status_code == 201
    assert form(sam, f"/forms/decisions/{decision}/positions", position="agree",
                reason="Executive agreed").status_code == 201
    assert form(alex, f"/forms/decisions/{decision}/positions", position="agree").status_code == 201
    made = form(alex, f"/forms/decisions/{decision}/outcome", outcome="Press conference tomorrow",
                rationale="One voice, before the hearing")
    assert made.status_code == 201, made.text
    recorded = wait_for_decision(platform, decision)

    # the open view reads the decision's page: everything the JSON says, for people
    shown = html.unescape(page(platform, f"/decisions/{decision}"))
    assert text_of(shown, "question") == question
    assert "consent: any organisation's block stops it" in shown
    assert "momentum (Momentum coordinator)" in shown
    assert f'href="/items/{attack}"' in shown and "MP threatened over a Gaza statement" in shown
    positions = text_of(shown, "positions")
    assert "block" in positions and "Our executive meets first" in positions and "FBU coordinator" in positions
    assert positions.index("block") < positions.index("Executive agreed")
    outcome = text_of(shown, "outcome")
    assert "Press conference tomorrow" in outcome and "One voice, before the hearing" in outcome
    assert "Rests on" in shown and "fbu, momentum" in shown
    assert text_of(shown, "proposed-digest") == recorded["board_digest"]
    assert text_of(shown, "decided-digest") == recorded["decided_digest"]
    assert f'id="board-then" href="/?as_of={recorded["board_position"]}"' in shown
    assert "How to check a digest" in shown and f"--as-of {recorded['board_position']} --org momentum" in shown
    assert [e["kind"] for e in api(platform, f"/api/items/{decision}/timeline")][-1] == "decision.made.v1"

    # the board as it stood then, read as the proposer's organisation: a past view with that digest
    then = page(platform, f"/?as_of={recorded['board_position']}", "momentum")
    assert "Past view." in then
    assert text_of(then, "asof-digest") == recorded["board_digest"]
    assert text_of(then, "asof-position") == str(recorded["board_position"])

    # and the digest checks by the page's recipe, from the board downloaded as the proposer
    resp = httpx.get(platform.url("forum", "/api/board"), headers=platform.headers("momentum"), timeout=30,
                     params={"as_of": recorded["board_position"], "format": "json"})
    assert resp.status_code == 200
    assert resp.headers["content-disposition"] == \
        f'attachment; filename="board-as-of-{recorded["board_position"]}.json"'
    assert recomputed(resp.json()) == resp.json()["digest"] == recorded["board_digest"]

    # the list links to it; the board's card links to it and to the items' timelines
    listed = page(platform, "/decisions")
    assert f'href="/decisions/{decision}"' in listed and "Press conference tomorrow" in listed
    assert '<caption id="decisions-caption">' in listed
    board = page(platform, "/")
    assert f'href="/decisions/{decision}"' in board and f'href="/items/{attack}"' in board
    assert f'/api/items/{attack}/timeline"' not in board


def test_an_item_timeline_page_shows_every_event_with_organisation_person_and_time(platform: Running) -> None:
    attack = reported(platform, "rmt", "unions", summary="Rep dismissed after a ballot")
    platform.wait_on_board(attack)
    alex, _ = log_in(platform, "momentum-coordinator")
    assert form(alex, f"/forms/items/{attack}/acknowledge", note="On it").status_code == 201
    assert form(alex, f"/forms/items/{attack}/response", lead_org="rmt", plan="Rally at the depot").status_code == 201
    deadline = time.monotonic() + 20
    while len(entries := api(platform, f"/api/items/{attack}/timeline")) < 4:
        assert time.monotonic() < deadline, entries
        time.sleep(0.05)

    shown = page(platform, f"/items/{attack}")
    assert "<h1" in shown and "Rep dismissed after a ballot" not in text_of(shown, "item-title")
    rows = re.findall(r'<tr data-seq="(\d+)" data-kind="([^"]+)">(.*?)</tr>', shown, re.S)
    assert [(int(seq), kind) for seq, kind, _ in rows] == [(e["seq"], e["kind"]) for e in entries]
    acknowledged = next(body for _, kind, body in rows if kind == "item.triaged.v1")
    assert "momentum" in acknowledged and "Momentum coordinator" in acknowledged and "<time datetime=" in acknowledged
    assert f'href="/?as_of={entries[0]["seq"]}"' in shown
    assert '<th scope="col">Organisation</th>' in shown and "<caption" in shown
    assert f'href="/api/items/{attack}/timeline?format=csv" download' in shown
    assert f'href="/api/items/{attack}/timeline?format=json" download' in shown


def test_the_pages_show_only_what_the_reader_may_see(platform: Running) -> None:
    hidden = reported(platform, "momentum", "momentum", tlp="AMBER+STRICT", audience=["scg"],
                      summary="Casework of a named member")
    deadline = time.monotonic() + 20
    while hidden not in [i["id"] for i in api(platform, "/api/board", "scg", limit=5000)["items"]]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # the item: its page for scg, the same 404 as an unknown id for everyone else
    assert "Casework of a named member" in page(platform, f"/items/{hidden}", "scg")
    unknown = str(uuid.uuid4())
    for viewer in (None, "rmt"):
        refused = page(platform, f"/items/{hidden}", viewer, status=404)
        assert refused.replace(hidden, "ID") == page(platform, f"/items/{unknown}", viewer, 404).replace(unknown, "ID")
        assert "Casework" not in refused

    # a decision shared with scg alone, and an open one that names the hidden item as evidence
    secret = platform.post("forum", "forum", "/v1/decisions", {
        "question": "Brief the member's lawyer?", "method": "coordinator_call", "tlp": "AMBER", "audience": ["scg"],
        "refs": [hidden]})
    assert secret.status_code == 201, secret.text
    open_one = platform.post("forum", "forum", "/v1/decisions", {
        "question": "Say something in public about the casework?", "method": "majority", "refs": [hidden]})
    assert open_one.status_code == 201, open_one.text
    secret_id, open_id = secret.json()["id"], open_one.json()["id"]
    wait_for_decision(platform, secret_id, "scg", status="open")
    wait_for_decision(platform, open_id, status="open")

    assert "Brief the member&#39;s lawyer?" in page(platform, f"/decisions/{secret_id}", "scg")
    assert "Brief the member" in page(platform, "/decisions", "scg")
    for viewer in (None, "rmt"):
        assert "Brief the member" not in page(platform, "/decisions", viewer)
        assert "No decision with id" in page(platform, f"/decisions/{secret_id}", viewer, status=404)
    # evidence the reader may not see is named by its id, its title kept from them
    public = page(platform, f"/decisions/{open_id}")
    evidence = text_of(public, "evidence")
    assert hidden in evidence and "not an item you may see" in evidence and "Casework" not in public
    assert "Casework of a named member" in text_of(page(platform, f"/decisions/{open_id}", "scg"), "evidence")
    # a logged-in person sees what their organisation may see
    publisher, _ = log_in(platform, "momentum-coordinator")
    assert publisher.get(f"/items/{hidden}").status_code == 200
    assert publisher.get(f"/decisions/{secret_id}").status_code == 404
    duty, _ = log_in(platform, "forum-duty")
    assert duty.get(f"/decisions/{secret_id}").status_code == 200
    assert duty.get(f"/items/{hidden}").status_code == 404


def test_a_page_reads_on_a_phone_and_by_keyboard_first(platform: Running) -> None:
    """Semantic skeleton: one h1, a skip link to the main content, labelled regions."""
    shown = page(platform, "/decisions")
    assert shown.count("<h1") == 1 and 'class="skip" href="#main"' in shown and '<main id="main"' in shown
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in shown
    assert "http://" not in shown.replace(platform.url("forum", ""), "") and "https://" not in shown
