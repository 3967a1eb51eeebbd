"""The movement's commands on the real engines: local groups, pledges per group, motions
(in the movement and the caucus), casework; each success, and each bad input a 4xx naming
the field with nothing stored and nothing published."""

from __future__ import annotations

import httpx
import pytest

from tests.bodies import ATTACK, GROUP, UNNAMED_SUSPENSION, action, case, motion
from tests.conftest import Running
from tests.test_hostile_input import settled

NO_SUCH = "00000000-0000-4000-8000-000000000000"


def created(platform: Running, org: str, service: str, path: str, body: dict) -> str:
    resp = platform.post(org, service, path, body)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def test_a_local_group_pledges_and_the_board_counts_per_group(platform: Running) -> None:
    leeds = created(platform, "momentum", "momentum", "/v1/groups", GROUP)
    bradford = created(platform, "momentum", "momentum", "/v1/groups", {**GROUP, "name": "Bradford Momentum"})
    act = created(platform, "momentum", "momentum", "/v1/actions", {**action([]), "groups": [leeds, bradford]})
    platform.wait_on_board(act, leeds)
    for people, group in ((12, leeds), (8, leeds), (5, bradford)):
        created(platform, "momentum", "momentum", f"/v1/actions/{act}/pledges", {"people": people, "group_id": group})
    created(platform, "rmt", "unions", f"/v1/actions/{act}/pledges", {"people": 30})
    item = platform.wait_for_item(act, lambda i: i["pledge_count"] == 4)
    assert item["people_pledged"] == 55
    assert item["detail"]["pledges_by_group"] == [{"group": "Bradford Momentum", "people": 5, "pledges": 1},
                                                  {"group": "Leeds Momentum", "people": 20, "pledges": 2}]
    assert [g["name"] for g in item["detail"]["groups"]] == ["Leeds Momentum", "Bradford Momentum"]
    group = next(i for i in platform.board()["items"] if i["id"] == leeds)
    assert (group["kind"], group["region"], group["title"]) == ("group", "Yorkshire and The Humber",
                                                                "Local group: Leeds Momentum")
    page = httpx.get(platform.url("forum", "/"), timeout=30).text
    assert "Leeds Momentum</strong>: 20 people (2 pledges)" in page
    won = created(platform, "momentum", "momentum", "/v1/wins",
                  {"kind": "motion_passed", "summary": "Leeds CLP backs the picket", "groups": [leeds]})
    assert platform.wait_for_item(won, lambda i: bool(i))["detail"]["groups"][0]["name"] == "Leeds Momentum"


def test_motions_are_tabled_by_a_local_group_and_by_the_caucus(platform: Running) -> None:
    attack = created(platform, "momentum", "momentum", "/v1/attacks", ATTACK)
    leeds = created(platform, "momentum", "momentum", "/v1/groups", GROUP)
    clp = created(platform, "momentum", "momentum", "/v1/motions", motion([attack], group=leeds))
    commons = created(platform, "scg", "scg", "/v1/motions",
                      {**motion([attack], body="House of Commons"), "sponsors": ["An MP"], "outcome": "pending"})
    board = platform.wait_on_board(clp, commons)
    by_id = {i["id"]: i for i in board["items"]}
    assert (by_id[clp]["kind"], by_id[clp]["refs"], by_id[clp]["summary"]) == ("motion", [attack],
                                                                             "Leeds Central CLP: passed")
    assert by_id[clp]["detail"]["group"] == {"id": leeds, "name": "Leeds Momentum"}
    assert (by_id[commons]["org"], by_id[commons]["summary"]) == ("scg", "House of Commons: outcome pending")
    timeline = httpx.get(platform.url("forum", f"/api/items/{attack}/timeline"), timeout=30).text
    assert "motion.tabled.v1" in timeline and clp in timeline and commons in timeline


def test_a_case_is_opened_referred_and_closed_once(platform: Running) -> None:
    attack = created(platform, "momentum", "momentum", "/v1/attacks", UNNAMED_SUSPENSION)
    platform.wait_on_board(attack)
    case_id = created(platform, "momentum", "momentum", "/v1/cases", case(attack, "A Person", "a note"))
    referred = platform.post("momentum", "momentum", f"/v1/cases/{case_id}/referrals", {"referral": "pastoral_support"})
    assert referred.status_code == 201 and referred.json()["version"] == 2, referred.text
    closed = platform.post("momentum", "momentum", f"/v1/cases/{case_id}/outcome", {"outcome": "appeal_lost"})
    assert closed.status_code == 201, closed.text
    again = platform.post("momentum", "momentum", f"/v1/cases/{case_id}/steps", {"note": "one more call"})
    assert again.status_code == 409 and "appeal_lost" in again.text
    item = platform.wait_for_item(attack, lambda i: i["detail"].get("casework", {}).get("outcome") == "appeal_lost")
    assert item["detail"]["casework"]["referrals"] == ["pastoral_support"]


BAD = [
    ("momentum", "/v1/groups", {"name": "Leeds Momentum"}, 400, "region"),
    ("momentum", "/v1/groups", {**GROUP, "name": "Leeds\x00"}, 400, "name"),
    ("momentum", "/v1/groups", {**GROUP, "members": ["A. Member"]}, 400, "members"),
    ("momentum", "/v1/actions", {**action([]), "groups": [NO_SUCH]}, 400, "groups"),
    ("momentum", "/v1/actions", {**action([]), "groups": ["not an id"]}, 400, "groups"),
    ("momentum", "/v1/wins", {"kind": "reinstatement", "summary": "Back", "groups": [NO_SUCH]}, 400, "groups"),
    ("momentum", "/v1/motions", motion([]), 400, "refs"),
    ("momentum", "/v1/motions", {**motion([NO_SUCH]), "outcome": "won"}, 400, "outcome"),
    ("momentum", "/v1/motions", motion([NO_SUCH], group=NO_SUCH), 400, "group"),
    ("momentum", "/v1/motions", {k: v for k, v in motion([NO_SUCH]).items() if k != "body"}, 400, "body"),
    ("scg", "/v1/motions", motion([NO_SUCH], group=NO_SUCH), 400, "group"),
    ("momentum", "/v1/cases", case(NO_SUCH, "A Person", "note"), 400, "attack"),
    ("momentum", "/v1/cases", {**case(NO_SUCH, "A Person", "note"), "caseworkers": []}, 400, "caseworkers"),
    ("momentum", "/v1/cases", {**case(NO_SUCH, "A Person", "note"), "member": ""}, 400, "member"),
    ("momentum", "/v1/cases", {**case(NO_SUCH, "A Person", "note"), "caseworkers": ["Not A Username"]}, 400,
     "caseworkers"),
    ("momentum", f"/v1/cases/{NO_SUCH}/referrals", {"referral": "legal_advice"}, 404, "case"),
    ("momentum", f"/v1/cases/{NO_SUCH}/outcome", {"outcome": "reinstated"}, 404, "case"),
]


@pytest.mark.parametrize(("service", "path", "body", "status", "field"), BAD,
                         ids=[f"{p}-{f}-{i}" for i, (_, p, _, _, f) in enumerate(BAD)])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
        platform: Running, service: str, path: str, body: dict, status: int, field: str) -> None:
    before = settled(platform)
    resp = platform.post(service, service, path, body)
    assert resp.status_code == status, resp.text
    assert field in resp.text, resp.text
    assert settled(platform) == before


def test_bad_steps_of_a_case_name_the_field(platform: Running) -> None:
    attack = created(platform, "momentum", "momentum", "/v1/attacks", UNNAMED_SUSPENSION)
    platform.wait_on_board(attack)
    case_id = created(platform, "momentum", "momentum", "/v1/cases", case(attack, "A Person", "note"))
    before = settled(platform)
    for path, body, field in ((f"/v1/cases/{case_id}/referrals", {"referral": "prayer"}, "referral"),
                              (f"/v1/cases/{case_id}/steps", {"note": ""}, "note"),
                              (f"/v1/cases/{case_id}/outcome", {"outcome": "won"}, "outcome")):
        resp = platform.post("momentum", "momentum", path, body)
        assert resp.status_code == 400 and field in resp.text, resp.text
    # another organisation's group, or the movement's case from another service: not theirs
    leeds = created(platform, "momentum", "momentum", "/v1/groups", GROUP)
    before = settled(platform)
    for org, service, path, body in (
            ("rmt", "unions", "/v1/actions", {**action([]), "groups": [leeds]}),
            ("scg", "scg", "/v1/motions", motion([attack], group=leeds))):
        resp = platform.post(org, service, path, body)
        assert resp.status_code == 400 and "group" in resp.text, resp.text
    assert platform.post("rmt", "unions", "/v1/motions", motion([attack])).status_code in (404, 405)
    assert platform.post("scg", "scg", f"/v1/cases/{case_id}/outcome", {"outcome": "reinstated"}).status_code == 404
    assert settled(platform) == before
