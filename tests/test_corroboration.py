"""Across organisations on the real engines: corrected facts, corroboration, turnout.

Momentum reports a suspension and later corrects it (only Momentum can); RMT and the FBU
corroborate it from their own services, and the card shows who did — the provenance.
Momentum calls 40 people to a picket, RMT pledges 30, 52 turn out: the board shows asks →
pledged → turned out.
"""

from __future__ import annotations

import httpx

from tests.bodies import ATTACK, action
from tests.conftest import Running
from tests.test_hostile_input import refused, settled, still_flowing
from tests.test_visits import created


def test_the_reporter_corrects_an_attack_and_others_corroborate_it(platform: Running) -> None:
    attack = created(platform.post("momentum", "momentum", "/v1/attacks", ATTACK))
    platform.wait_on_board(attack)
    created(platform.post("momentum", "momentum", f"/v1/attacks/{attack}/corrections",
                          {"summary": "Suspended over a picket-line photo; two members, not one",
                           "targets": [{"kind": "member", "name": "A. Member"}, {"kind": "member", "name": "B. Member"}]}))
    corrected = platform.wait_for_item(attack, lambda i: "corrected_at" in i["detail"])
    assert corrected["title"] == "Suspension: A. Member, B. Member"
    assert corrected["summary"].startswith("Suspended over a picket-line photo; two members")
    assert corrected["detail"]["severity"] == "high"  # not corrected: kept

    created(platform.post("rmt", "unions", f"/v1/attacks/{attack}/corroborations",
                          {"evidence": "Our branch secretary was at the hearing"}))
    created(platform.post("scg", "scg", f"/v1/attacks/{attack}/corroborations", {}))
    both = platform.wait_for_item(attack, lambda i: len(i["detail"].get("corroborations", {})) == 2)
    assert sorted(both["detail"]["corroborations"]) == ["rmt", "scg"]
    assert both["detail"]["corroborations"]["rmt"]["evidence"] == "Our branch secretary was at the hearing"
    page = httpx.get(platform.url("forum", "/"), timeout=10).text
    assert '<strong class="corroborator">rmt</strong>' in page

    before = settled(platform)
    refused(platform, platform.post("rmt", "unions", f"/v1/attacks/{attack}/corroborations", {}), 409,
            "already")
    refused(platform, platform.post("momentum", "momentum", f"/v1/attacks/{attack}/corroborations", {}), 409,
            "another organisation")
    # only the reporter corrects: to anyone else the attack is not theirs to correct
    refused(platform, platform.post("scg", "scg", f"/v1/attacks/{attack}/corrections", {"severity": "low"}), 404)
    refused(platform, platform.post("momentum", "momentum", f"/v1/attacks/{attack}/corrections", {}), 400,
            "at least one of")
    refused(platform, platform.post("momentum", "momentum", f"/v1/attacks/{attack}/corrections",
                                    {"severity": "apocalyptic"}), 400, "severity")
    refused(platform, platform.post("momentum", "momentum", f"/v1/attacks/{attack}/corrections",
                                    {"targets": []}), 400, "targets")
    refused(platform, platform.post("rmt", "unions", f"/v1/attacks/{attack}/corroborations",
                                    {"evidence": "\u0000"}), 400, "evidence")
    unknown = "5f0c1c9e-8f5e-4d1e-9b7a-2f4f7e0d1a12"
    refused(platform, platform.post("rmt", "unions", f"/v1/attacks/{unknown}/corroborations", {}), 404, "no attack")
    assert settled(platform) == before


def test_an_action_shows_asks_pledged_and_turned_out(platform: Running) -> None:
    called = created(platform.post("momentum", "momentum", "/v1/actions", action([])))
    platform.wait_on_board(called)
    created(platform.post("rmt", "unions", f"/v1/actions/{called}/pledges", {"people": 30}))
    platform.wait_for_item(called, lambda i: i["people_pledged"] == 30)

    before = settled(platform)
    refused(platform, platform.post("momentum", "momentum", f"/v1/actions/{called}/completion", {"turnout": -1}),
            400, "turnout")
    refused(platform, platform.post("momentum", "momentum", f"/v1/actions/{called}/completion", {}), 400, "turnout")
    refused(platform, platform.post("momentum", "momentum", f"/v1/actions/{called}/completion",
                                    {"turnout": "52"}), 400, "turnout")
    refused(platform, platform.post("rmt", "unions", f"/v1/actions/{called}/completion", {"turnout": 52}), 404,
            "no action")  # only the caller of the action records its turnout
    assert settled(platform) == before

    created(platform.post("momentum", "momentum", f"/v1/actions/{called}/completion",
                          {"turnout": 52, "outcome": "Picket held all morning"}))
    done = platform.wait_for_item(called, lambda i: "turnout" in i["detail"])
    assert (done["people_wanted"], done["people_pledged"], done["detail"]["turnout"]) == (40, 30, 52)
    assert done["status"] == "resolved"
    assert "→ pledged 30 → <strong>turned out 52</strong>" in httpx.get(platform.url("forum", "/"), timeout=10).text
    refused(platform, platform.post("momentum", "momentum", f"/v1/actions/{called}/completion", {"turnout": 60}),
            409, "completed already")
    still_flowing(platform)
