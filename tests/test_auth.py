"""Authentication: a key names the organisation, which can only publish as itself."""

from __future__ import annotations

import httpx
import psycopg

from tests.bodies import ATTACK
from tests.conftest import Running
from tests.shared_log import stored_and_published


def test_no_key_is_401(platform: Running) -> None:
    resp = httpx.post(platform.url("momentum", "/v1/attacks"), json=ATTACK)
    assert resp.status_code == 401
    assert "API key" in resp.json()["detail"]


def test_a_wrong_key_is_401(platform: Running) -> None:
    resp = httpx.post(platform.url("momentum", "/v1/attacks"), json=ATTACK,
                      headers={"Authorization": "Bearer coal_momentum_guessed"})
    assert resp.status_code == 401


def test_a_key_for_another_service_is_refused(platform: Running) -> None:
    """The caucus's key does not publish through the movement's service."""
    resp = httpx.post(platform.url("momentum", "/v1/attacks"), json=ATTACK, headers=platform.headers("scg"))
    assert resp.status_code == 403
    assert "scg publishes through the scg service" in resp.json()["detail"]


def test_publishing_as_another_organisation_is_refused(platform: Running) -> None:
    """The RMT cannot report an attack as the FBU, nor the movement as the caucus; nothing is stored."""
    before = stored_and_published(platform)
    as_fbu = platform.post("rmt", "unions", "/v1/attacks", {**ATTACK, "org": "fbu"})
    assert as_fbu.status_code == 403
    assert "rmt cannot publish as fbu" in as_fbu.json()["detail"]
    as_scg = platform.post("momentum", "momentum", "/v1/attacks", {**ATTACK, "org": "scg"})
    assert as_scg.status_code == 403
    assert stored_and_published(platform) == before


def test_the_org_on_an_event_is_the_callers(platform: Running) -> None:
    """A union's attack is published as that union, whichever service carries it."""
    attack = platform.post("bfawu", "unions", "/v1/attacks", {**ATTACK, "org": "bfawu"}).json()["id"]
    item = next(i for i in platform.wait_on_board(attack)["items"] if i["id"] == attack)
    assert (item["org"], item["service"]) == ("bfawu", "unions")


def test_only_hashes_of_keys_are_stored(platform: Running) -> None:
    with psycopg.connect(platform.database_url) as conn:
        stored = {row[0] for row in conn.execute("SELECT key_sha256 FROM coalition.api_keys")}
    assert len(stored) == len(platform.keys)
    assert not stored & set(platform.keys.values())
    assert all(len(h) == 64 for h in stored)
