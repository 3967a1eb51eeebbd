"""Each command of the public API: accepted when right, refused with a reason when wrong."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.bodies import ATTACK, STRIKE, action
from tests.conftest import Running
from tests.shared_log import stored_and_published


def test_each_publisher_reports_an_attack(platform: Running) -> None:
    """The movement, the caucus and a union each report an attack and get its id."""
    for org, service in (("momentum", "momentum"), ("scg", "scg"), ("rmt", "unions")):
        resp = platform.post(org, service, "/v1/attacks", ATTACK)
        assert resp.status_code == 201, resp.text
        assert uuid.UUID(resp.json()["id"])


def test_an_attack_is_resolved_once(platform: Running) -> None:
    """The movement records a reinstatement; a second outcome is a conflict."""
    attack = platform.post("momentum", "momentum", "/v1/attacks", ATTACK).json()["id"]
    resolution = {"outcome": "reinstated", "summary": "Reinstated after appeal"}
    ok = platform.post("momentum", "momentum", f"/v1/attacks/{attack}/resolution", resolution)
    assert ok.status_code == 201, ok.text
    assert ok.json() == {"id": attack, "version": 2}
    again = platform.post("momentum", "momentum", f"/v1/attacks/{attack}/resolution", resolution)
    assert again.status_code == 409
    assert "already resolved" in again.json()["detail"]


def test_a_union_calls_a_strike_with_pickets_and_asks_for_solidarity(platform: Running) -> None:
    """The RMT calls a strike, schedules a picket on it and asks the coalition for help."""
    strike = platform.post("rmt", "unions", "/v1/strikes", STRIKE)
    assert strike.status_code == 201, strike.text
    strike_id = strike.json()["id"]
    picket = platform.post("rmt", "unions", f"/v1/strikes/{strike_id}/pickets",
                           {"where": "Euston station", "when": "2026-12-01T06:00:00Z", "needs": "40 people"})
    assert picket.status_code == 201, picket.text
    help_ = platform.post("rmt", "unions", "/v1/solidarity-requests",
                          {"help": ["people_on_picket", "strike_fund"], "summary": "Join us", "refs": [strike_id]})
    assert help_.status_code == 201, help_.text
    board = platform.wait_on_board(strike_id, picket.json()["id"], help_.json()["id"])
    kinds = {i["id"]: i["kind"] for i in board["items"]}
    assert kinds[strike_id] == "strike" and kinds[picket.json()["id"]] == "picket"
    assert "industrial" in board["groups"]


def test_another_union_cannot_picket_a_strike_it_did_not_call(platform: Running) -> None:
    """Tenants of the unions service are kept apart: the FBU cannot add to the RMT's strike,
    which to that command is as unknown as one never called (nor is its owner named)."""
    strike_id = platform.post("rmt", "unions", "/v1/strikes", STRIKE).json()["id"]
    resp = platform.post("fbu", "unions", f"/v1/strikes/{strike_id}/pickets",
                         {"where": "Euston", "when": "2026-12-01T06:00:00Z"})
    assert resp.status_code == 404
    assert resp.json() == {"status_code": 404, "detail": f"no strike with id {strike_id}"}


def test_pledges_from_any_organisation_add_up_against_the_ask(platform: Running) -> None:
    """The union calls picket support; the movement and the caucus pledge; the board adds them up."""
    strike_id = platform.post("rmt", "unions", "/v1/strikes", STRIKE).json()["id"]
    action_id = platform.post("rmt", "unions", "/v1/actions", action([strike_id])).json()["id"]
    platform.wait_on_board(action_id)
    assert platform.post("momentum", "momentum", f"/v1/actions/{action_id}/pledges",
                         {"people": 25, "group": "Momentum Camden"}).status_code == 201
    assert platform.post("scg", "scg", f"/v1/actions/{action_id}/pledges",
                         {"people": 2, "note": "Two MPs"}).status_code == 201
    item = platform.wait_for_item(action_id, lambda i: i["pledge_count"] == 2)
    assert item["people_pledged"] == 27
    assert item["people_wanted"] == 40


def test_a_win_is_recorded_and_the_forum_triages(platform: Running) -> None:
    """A win goes on the board; the forum acknowledges an attack with high priority."""
    win = platform.post("scg", "scg", "/v1/wins", {"kind": "motion_passed", "summary": "Motion passed", "tlp": "CLEAR"})
    assert win.status_code == 201, win.text
    attack = platform.post("momentum", "momentum", "/v1/attacks", ATTACK).json()["id"]
    platform.wait_on_board(attack, win.json()["id"])
    triage = platform.post("forum", "forum", f"/v1/items/{attack}/triage",
                           {"status": "acknowledged", "priority": "high"})
    assert triage.status_code == 201, triage.text
    item = platform.wait_for_item(attack, lambda i: i["status"] == "acknowledged")
    assert (item["status"], item["priority"]) == ("acknowledged", "high")
    # and as the response goes on, the forum triages it again
    again = platform.post("forum", "forum", f"/v1/items/{attack}/triage",
                          {"status": "responding", "priority": "urgent"})
    assert again.status_code == 201, again.text
    assert again.json()["version"] == 2
    item = platform.wait_for_item(attack, lambda i: i["status"] == "responding")
    assert (item["status"], item["priority"]) == ("responding", "urgent")


BAD_INPUTS = [
    ("momentum", "momentum", "/v1/attacks", {**ATTACK, "kind": "bad-kind"}, "kind"),
    ("momentum", "momentum", "/v1/attacks", {**ATTACK, "targets": []}, "targets"),
    ("momentum", "momentum", "/v1/attacks", {k: v for k, v in ATTACK.items() if k != "summary"}, "summary"),
    ("momentum", "momentum", "/v1/attacks", {**ATTACK, "tlp": "PURPLE"}, "tlp"),
    ("momentum", "momentum", "/v1/attacks", {**ATTACK, "severity": 3}, "severity"),
    ("momentum", "momentum", "/v1/attacks", {**ATTACK, "colour": "red"}, "colour"),
    ("rmt", "unions", "/v1/strikes", {**STRIKE, "members_involved": 0}, "members_involved"),
    ("rmt", "unions", "/v1/strikes", {**STRIKE, "starts_on": "first of December"}, "starts_on"),
    ("rmt", "unions", "/v1/strikes", {**STRIKE, "ends_on": "2026-11-01"}, "ends_on"),
    ("rmt", "unions", "/v1/solidarity-requests", {"help": ["beer"], "summary": "x"}, "help"),
    ("momentum", "momentum", "/v1/actions", {**action([]), "when": "tomorrow"}, "when"),
    ("momentum", "momentum", "/v1/wins", {"kind": "reinstatement"}, "summary"),
    # JSON of another type than documented is not coerced (schemathesis found 0 taken for 1970)
    ("momentum", "momentum", "/v1/wins", {"kind": "reinstatement", "summary": "x", "occurred_at": 0}, "occurred_at"),
    ("momentum", "momentum", "/v1/actions", {**action([]), "people_wanted": "40"}, "people_wanted"),
    ("rmt", "unions", "/v1/strikes", {**STRIKE, "members_involved": 4000.0}, "members_involved"),
]


@pytest.mark.parametrize(("org", "service", "path", "body", "field"), BAD_INPUTS,
                         ids=[f"{b[2]}-{b[4]}" for b in BAD_INPUTS])
def test_bad_input_names_the_field_and_changes_nothing(
    platform: Running, org: str, service: str, path: str, body: dict, field: str
) -> None:
    """A bad command gets a 400 naming the field; nothing is stored, nothing published."""
    before = stored_and_published(platform)
    resp = platform.post(org, service, path, body)
    assert resp.status_code == 400, resp.text
    assert field in resp.text
    assert stored_and_published(platform) == before


def test_not_json_at_all_is_refused(platform: Running) -> None:
    resp = httpx.post(platform.url("momentum", "/v1/attacks"), content=b"{not json",
                      headers={**platform.headers("momentum"), "content-type": "application/json"})
    assert resp.status_code == 400


@pytest.mark.parametrize("path", ["/v1/attacks/{id}/resolution", "/v1/actions/{id}/pledges"])
def test_unknown_ids_are_404(platform: Running, path: str) -> None:
    body = {"outcome": "reinstated"} if "resolution" in path else {"people": 3}
    for unknown in (str(uuid.uuid4()), "not-a-uuid"):
        resp = platform.post("momentum", "momentum", path.format(id=unknown), body)
        assert resp.status_code == 404, resp.text


def test_triage_of_an_unknown_item_is_404(platform: Running) -> None:
    resp = platform.post("forum", "forum", f"/v1/items/{uuid.uuid4()}/triage", {"status": "acknowledged"})
    assert resp.status_code == 404


def test_unknown_strike_is_404(platform: Running) -> None:
    resp = platform.post("rmt", "unions", f"/v1/strikes/{uuid.uuid4()}/pickets",
                         {"where": "x", "when": "2026-12-01T06:00:00Z"})
    assert resp.status_code == 404


def test_strikes_are_only_on_the_unions_service(platform: Running) -> None:
    assert platform.post("momentum", "momentum", "/v1/strikes", STRIKE).status_code == 404


@pytest.mark.parametrize("service", ["momentum", "scg", "unions", "forum"])
def test_every_service_serves_its_openapi(platform: Running, service: str) -> None:
    spec = httpx.get(platform.url(service, "/schema/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert ("reportAttack" in ops) == (service != "forum")
    assert ("callStrike" in ops) == (service == "unions")
    assert ("triageItem" in ops) == (service == "forum")
