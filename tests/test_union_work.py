"""The unions' own work on the real engines: disputes, ballots, the strike's outcome, and
branches with their workplace reps.

RMT declares a dispute at Example Rail and ballots 4,000 members in an important public
service: 2,600 vote, 2,300 yes — 65 % turnout and 57.5 % of all eligible voting yes, both
thresholds met, computed by the service from the counts. RMT calls the strike for that
dispute, and its card shows the ballot; the strike is won. RMT registers its London
Transport branch with a rep, and the forum finds it by region.
"""

from __future__ import annotations

import httpx

from tests.bodies import BRANCH, DISPUTE, REP, STRIKE, ballot
from tests.conftest import Running
from tests.test_hostile_input import refused, settled, still_flowing
from tests.test_visits import created


def card(platform: Running, item: str) -> dict:
    return next(i for i in platform.wait_on_board(item)["items"] if i["id"] == item)


def test_a_ballot_that_met_its_thresholds_shows_on_the_strikes_card(platform: Running) -> None:
    dispute = created(platform.post("rmt", "unions", "/v1/disputes", DISPUTE))
    created(platform.post("rmt", "unions", "/v1/ballots", ballot([dispute])))
    balloted = platform.wait_for_item(dispute, lambda i: "ballot" in i["detail"])
    assert balloted["kind"] == "dispute" and balloted["title"] == "Dispute: Example Rail Ltd (rail)"

    strike = created(platform.post("rmt", "unions", "/v1/strikes", {**STRIKE, "refs": [dispute]}))
    result = card(platform, strike)["detail"]["ballot"]
    assert (result["turnout"], result["yes_share"]) == (0.65, 2300 / 2600)
    assert (result["turnout_met"], result["support_met"], result["threshold_met"], result["majority"]) == (
        True, True, True, True)
    assert (result["eligible"], result["votes_cast"], result["yes_votes"]) == (4000, 2600, 2300)
    page = httpx.get(platform.url("forum", "/"), timeout=10).text
    assert "Ballot: mandate won" in page and "40% needed, met" in page

    created(platform.post("rmt", "unions", f"/v1/strikes/{strike}/outcome",
                          {"outcome": "won", "summary": "5 % and no cuts"}))
    ended = platform.wait_for_item(strike, lambda i: i["status"] == "closed")
    assert (ended["detail"]["outcome"], ended["detail"]["resolution"]) == ("won", "5 % and no cuts")
    before = settled(platform)
    refused(platform, platform.post("rmt", "unions", f"/v1/strikes/{strike}/outcome", {"outcome": "lost"}), 409,
            "ended already")
    assert settled(platform) == before


def test_a_ballot_short_of_the_support_threshold_is_shown_as_not_met(platform: Running) -> None:
    strike = created(platform.post("rmt", "unions", "/v1/strikes", STRIKE))
    created(platform.post("rmt", "unions", "/v1/ballots", ballot([strike], 1000, 600, 399)))
    result = platform.wait_for_item(strike, lambda i: "ballot" in i["detail"])["detail"]["ballot"]
    assert (result["turnout_met"], result["support_met"], result["threshold_met"]) == (True, False, False)


def test_bad_ballots_disputes_and_outcomes_are_refused_and_nothing_is_stored(platform: Running) -> None:
    dispute = created(platform.post("rmt", "unions", "/v1/disputes", DISPUTE))
    strike = created(platform.post("rmt", "unions", "/v1/strikes", STRIKE))
    fbus = created(platform.post("fbu", "unions", "/v1/disputes", DISPUTE))
    before = settled(platform)
    for body, field in [
        (ballot([dispute], 1000, 1001, 10), "votes_cast"),
        (ballot([dispute], 1000, 600, 601), "yes_votes"),
        (ballot([dispute], 0, 0, 0), "eligible"),
        (ballot([dispute], 1000, -1, 0), "votes_cast"),
        ({**ballot([dispute]), "threshold_met": True}, "threshold_met"),  # never taken from the client
        ({**ballot([dispute]), "turnout": 0.9}, "turnout"),
        (ballot([]), "refs"),
        ({**ballot([dispute]), "important_public_service": "yes"}, "important_public_service"),
    ]:
        refused(platform, platform.post("rmt", "unions", "/v1/ballots", body), 400, field)
    refused(platform, platform.post("rmt", "unions", "/v1/ballots", ballot([fbus])), 400, "refs", fbus)  # another union's
    refused(platform, platform.post("rmt", "unions", "/v1/disputes", {**DISPUTE, "issues": ""}), 400, "issues")
    refused(platform, platform.post("rmt", "unions", "/v1/disputes", {**DISPUTE, "employer": None}), 400, "employer")
    refused(platform, platform.post("rmt", "unions", f"/v1/strikes/{strike}/outcome", {"outcome": "glorious"}),
            400, "outcome")
    refused(platform, platform.post("fbu", "unions", f"/v1/strikes/{strike}/outcome", {"outcome": "won"}), 404,
            "no strike")
    refused(platform, platform.post("momentum", "momentum", "/v1/disputes", DISPUTE), 404)  # unions only
    assert settled(platform) == before
    still_flowing(platform)


def test_the_forum_finds_a_branch_and_its_reps_by_region(platform: Running) -> None:
    branch = created(platform.post("rmt", "unions", "/v1/branches", BRANCH))
    rep = created(platform.post("rmt", "unions", f"/v1/branches/{branch}/reps", {**REP, "name": "A. Rep"}))
    elsewhere = created(platform.post("fbu", "unions", "/v1/branches", {**BRANCH, "name": "Yorkshire",
                                                                        "region": "Yorkshire and The Humber"}))
    platform.wait_for_item(branch, lambda i: rep in i["detail"].get("reps", {}))
    platform.wait_on_board(elsewhere)

    listed = httpx.get(platform.url("forum", "/api/branches"), params={"region": "London"}, timeout=10)
    assert listed.status_code == 200, listed.text
    london = {b["id"]: b for b in listed.json()}
    assert branch in london and elsewhere not in london
    assert london[branch]["union"] == "rmt" and london[branch]["workplaces"] == BRANCH["workplaces"]
    assert london[branch]["reps"] == [{"id": rep, "workplace": "Euston depot", "role": "health and safety rep",
                                       "name": "A. Rep"}]
    everywhere = {b["id"] for b in httpx.get(platform.url("forum", "/api/branches"), timeout=10).json()}
    assert {branch, elsewhere} <= everywhere
    assert 'data-kind="branch"' in httpx.get(platform.url("forum", "/"), timeout=10).text

    before = settled(platform)
    refused(platform, platform.post("rmt", "unions", "/v1/branches", {k: v for k, v in BRANCH.items()
                                                                       if k != "region"}), 400, "region")
    refused(platform, platform.post("rmt", "unions", "/v1/branches", {**BRANCH, "name": "x" * 201}), 400, "name")
    refused(platform, platform.post("rmt", "unions", f"/v1/branches/{branch}/reps", {}), 400, "workplace")
    refused(platform, platform.post("fbu", "unions", f"/v1/branches/{branch}/reps", REP), 404, "no branch")
    assert settled(platform) == before
