"""MP visits on the real engines: the caucus's "star power" where the left needs it.

RMT strikes at Euston and pickets the depot; Momentum asks the caucus for an MP's visit
to the picket; the SCG liaison confirms A. MP, who goes. Each step is on the log and on
the board: the visit's own card, and the picket's card showing the visit's state. The
liaison also publishes a statement. Bad requests are refused naming the field, and store
and publish nothing.
"""

from __future__ import annotations

import httpx

from tests.bodies import STATEMENT, STRIKE, action, visit
from tests.conftest import Running
from tests.test_hostile_input import refused, settled, still_flowing


def created(resp: httpx.Response) -> str:
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def picket(platform: Running) -> str:
    strike = created(platform.post("rmt", "unions", "/v1/strikes", STRIKE))
    picket_id = created(platform.post("rmt", "unions", f"/v1/strikes/{strike}/pickets",
                                      {"where": "Euston depot gate", "when": "2026-12-01T06:00:00Z",
                                       "region": "London"}))
    platform.wait_on_board(picket_id)
    return picket_id


def test_an_mp_visit_is_requested_confirmed_and_done_on_the_pickets_card(platform: Running) -> None:
    picket_id = picket(platform)
    visit_id = created(platform.post("momentum", "momentum", "/v1/visits", visit(picket_id)))
    requested = platform.wait_on_board(visit_id)
    card = next(i for i in requested["items"] if i["id"] == visit_id)
    assert (card["kind"], card["detail"]["visit_state"], card["detail"]["serves"]) == ("visit", "requested", picket_id)
    assert card["tlp"] == "CLEAR" and card["region"] == "London"  # shared as the picket is

    created(platform.post("scg", "scg", f"/v1/visits/{visit_id}/confirmation",
                          {"mp": "A. MP", "when": "2026-12-01T07:30:00Z"}))
    confirmed = platform.wait_for_item(picket_id, lambda i: i["detail"].get("visits", {}).get(visit_id, {})
                                       .get("state") == "confirmed")
    assert confirmed["detail"]["visits"][visit_id] == {"state": "confirmed", "mp": "A. MP", "answered_by": "scg"}

    created(platform.post("scg", "scg", f"/v1/visits/{visit_id}/done", {"note": "Spoke to 200 strikers"}))
    done = platform.wait_for_item(visit_id, lambda i: i["detail"]["visit_state"] == "done")
    assert (done["status"], done["detail"]["mp"]) == ("resolved", "A. MP")

    timeline = httpx.get(platform.url("forum", f"/api/items/{visit_id}/timeline"), timeout=10).json()
    assert [e["kind"] for e in timeline] == ["visit.requested.v1", "visit.confirmed.v1", "visit.done.v1"]
    page = httpx.get(platform.url("forum", "/"), timeout=10).text
    assert f'href="#item-{visit_id}">MP visit</a>: A. MP — done' in page


def test_the_forum_asks_for_a_visit_and_the_liaison_declines_it(platform: Running) -> None:
    rally = created(platform.post("momentum", "momentum", "/v1/actions", {**action([]), "kind": "rally"}))
    platform.wait_on_board(rally)
    visit_id = created(platform.post("forum", "forum", "/v1/visits", {"serves": rally, "where": "Leeds rally"}))
    platform.wait_on_board(visit_id)

    created(platform.post("scg", "scg", f"/v1/visits/{visit_id}/refusal", {"reason": "The House sits late"}))
    declined = platform.wait_for_item(visit_id, lambda i: i["detail"]["visit_state"] == "declined")
    assert (declined["status"], declined["detail"]["visit_reason"]) == ("closed", "The House sits late")

    before = settled(platform)
    refused(platform, platform.post("scg", "scg", f"/v1/visits/{visit_id}/confirmation", {"mp": "A. MP"}),
            409, "declined already")
    refused(platform, platform.post("scg", "scg", f"/v1/visits/{visit_id}/done", {}), 409, "declined")
    assert settled(platform) == before


def test_bad_visit_requests_and_answers_are_refused_and_nothing_is_stored(platform: Running) -> None:
    picket_id = picket(platform)
    visit_id = created(platform.post("momentum", "momentum", "/v1/visits", visit(picket_id)))
    platform.wait_on_board(visit_id)
    unknown = "5f0c1c9e-8f5e-4d1e-9b7a-2f4f7e0d1a11"
    before = settled(platform)
    refused(platform, platform.post("momentum", "momentum", "/v1/visits", {**visit(unknown)}), 400, "serves",
            unknown)
    refused(platform, platform.post("momentum", "momentum", "/v1/visits", {"serves": picket_id}), 400, "where")
    refused(platform, platform.post("momentum", "momentum", "/v1/visits", {**visit(picket_id), "mp": ""}), 400, "mp")
    refused(platform, platform.post("momentum", "momentum", "/v1/visits",
                                    {**visit(picket_id), "when": "tomorrow"}), 400, "when")
    refused(platform, platform.post("momentum", "momentum", "/v1/visits",
                                    {**visit(picket_id), "state": "done"}), 400, "state")
    refused(platform, platform.post("scg", "scg", f"/v1/visits/{visit_id}/confirmation", {}), 400, "mp")
    refused(platform, platform.post("scg", "scg", f"/v1/visits/{unknown}/confirmation", {"mp": "A. MP"}), 404,
            "no visit")
    refused(platform, platform.post("scg", "scg", f"/v1/visits/{picket_id}/confirmation", {"mp": "A. MP"}), 404,
            "no visit")  # a picket is not a visit
    refused(platform, platform.post("scg", "scg", f"/v1/visits/{visit_id}/done", {}), 409, "not confirmed")
    refused(platform, platform.post("scg", "scg", f"/v1/visits/{visit_id}/refusal", {"reason": ""}), 400, "reason")
    # only the liaison answers: the movement's service has no such route, and its key is not the caucus's
    assert platform.post("momentum", "momentum", f"/v1/visits/{visit_id}/confirmation",
                         {"mp": "A. MP"}).status_code in (404, 405)
    refused(platform, platform.post("momentum", "scg", f"/v1/visits/{visit_id}/confirmation", {"mp": "A. MP"}), 403)
    assert settled(platform) == before
    still_flowing(platform)


def test_the_caucus_publishes_a_statement(platform: Running) -> None:
    statement = created(platform.post("scg", "scg", "/v1/statements", STATEMENT))
    board = platform.wait_on_board(statement)
    card = next(i for i in board["items"] if i["id"] == statement)
    assert (card["kind"], card["title"]) == ("statement", "Statement: Solidarity with the Euston strikers")
    assert card["detail"]["signatories"] == ["scg", "momentum"]
    before = settled(platform)
    refused(platform, platform.post("scg", "scg", "/v1/statements", {**STATEMENT, "title": ""}), 400, "title")
    refused(platform, platform.post("scg", "scg", "/v1/statements", {**STATEMENT, "signatories": ["Not An Org"]}),
            400, "signatories")
    refused(platform, platform.post("scg", "scg", "/v1/statements", {**STATEMENT, "org": "momentum"}), 403)
    assert settled(platform) == before
