"""The region view on the real platform: partners name regions from one vocabulary (an
alias is stored by its ONS name, anything else is a 400 naming the field), and
``GET /api/regions`` counts the open attacks and strikes of this week per region as each
reader may see them; the forum's ``/regions`` page draws them as a map of links."""

from __future__ import annotations

import time

import httpx

from tests.bodies import ATTACK, STRIKE, action
from tests.conftest import Running


def counts(platform: Running, org: str | None) -> dict[str, dict[str, int]]:
    """``GET /api/regions`` as ``org`` (None: the open view), by region name."""
    resp = httpx.get(platform.url("forum", "/api/regions"), headers=platform.headers(org) if org else {}, timeout=30)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert len(body["regions"]) == 12
    return {r["name"]: r for r in body["regions"]} | {"unknown": body["unknown"], "no_region": body["no_region"]}


def grew(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], name: str) -> tuple[int, int]:
    return after[name]["attacks"] - before[name]["attacks"], after[name]["strikes"] - before[name]["strikes"]


def created(resp: httpx.Response) -> str:
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def test_open_attacks_and_strikes_of_the_week_are_counted_per_region_as_each_reader_may_see(
        platform: Running) -> None:
    readers = (None, "momentum", "scg", "rmt")
    before = {org: counts(platform, org) for org in readers}
    # Wales: an attack reported and already resolved (no longer counts), an action (not
    # counted), and a strike the RMT calls, named in Welsh
    wales = created(platform.post("momentum", "momentum", "/v1/attacks", {**ATTACK, "region": "Wales"}))
    created(platform.post("momentum", "momentum", f"/v1/attacks/{wales}/resolution", {"outcome": "reinstated"}))
    created(platform.post("momentum", "momentum", "/v1/actions", {**action([]), "region": "Wales"}))
    strike = created(platform.post("rmt", "unions", "/v1/strikes", {**STRIKE, "region": "cymru"}))
    # Northern Ireland: one attack for everyone, one the caucus shares with the RMT alone
    created(platform.post("scg", "scg", "/v1/attacks", {**ATTACK, "region": "Northern Ireland", "tlp": "AMBER+STRICT",
                                                        "audience": ["rmt"]}))
    created(platform.post("momentum", "momentum", "/v1/attacks", {**ATTACK, "region": "NI"}))
    platform.wait_on_board(strike)

    deadline = time.monotonic() + 20
    while grew(before["scg"], after := counts(platform, "scg"), "Northern Ireland") != (2, 0):
        assert time.monotonic() < deadline, after["Northern Ireland"]
        time.sleep(0.05)

    now = {org: counts(platform, org) for org in readers}
    assert {org: grew(before[org], now[org], "Northern Ireland") for org in readers} == {
        None: (1, 0), "momentum": (1, 0), "scg": (2, 0), "rmt": (2, 0)}
    assert {org: grew(before[org], now[org], "Wales") for org in readers} == {org: (0, 1) for org in readers}
    ni = now[None]["Northern Ireland"]
    assert (ni["code"], ni["board"]) == ("TLN", "/?region=Northern%20Ireland")
    assert ni["total"] == ni["attacks"] + ni["strikes"]
    board = {i["id"]: i for i in platform.board()["items"]}
    assert board[strike]["region"] == "Wales"  # stored by its ONS name, as the filter takes it


def test_a_region_outside_the_vocabulary_is_refused_naming_the_field(platform: Running) -> None:
    for org, service, path, body in (
            ("momentum", "momentum", "/v1/attacks", {**ATTACK, "region": "Leeds"}),
            ("rmt", "unions", "/v1/strikes", {**STRIKE, "region": "the north"}),
            ("forum", "forum", "/v1/actions", {**action([]), "region": "Atlantis"})):
        resp = platform.post(org, service, path, body)
        assert resp.status_code == 400, resp.text
        assert resp.json()["extra"][0]["key"] == "region", resp.text
        assert "is not a UK nation or English region" in resp.text


def test_a_wrong_key_is_refused_not_shown_the_open_view(platform: Running) -> None:
    resp = httpx.get(platform.url("forum", "/api/regions"), headers={"Authorization": "Bearer nope"}, timeout=30)
    assert resp.status_code == 401, resp.text


def test_the_region_page_draws_a_map_of_links_to_the_board(platform: Running) -> None:
    created(platform.post("momentum", "momentum", "/v1/attacks", {**ATTACK, "region": "south west"}))
    page = httpx.get(platform.url("forum", "/regions"), timeout=30)
    assert page.status_code == 200
    html = page.text
    assert "<svg" in html and html.count('class="tile"') == 12 and "/static/regions.css" in html
    assert 'href="/?region=South%20West"' in html and 'aria-label="South West: ' in html
    assert '<table class="region-table">' in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert 'href="/regions"' in httpx.get(platform.url("forum", "/"), timeout=30).text
    document = httpx.get(platform.url("forum", "/schema/openapi.json"), timeout=30).json()
    assert document["paths"]["/api/regions"]["get"]["operationId"] == "getRegions"
