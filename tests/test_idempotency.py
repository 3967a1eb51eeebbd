"""A partner's client retries after a timeout: with the same Idempotency-Key it gets the
first answer again, and the coalition's log holds the command once."""

from __future__ import annotations

import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.bodies import ATTACK, action
from tests.conftest import Running
from tests.shared_log import stored_and_published


def post(p: Running, org: str, service: str, path: str, body: object, key: str) -> httpx.Response:
    headers = {**p.headers(org), "Idempotency-Key": key}
    return httpx.post(p.url(service, path), json=body, headers=headers, timeout=30)


def settled(p: Running) -> tuple[int, int]:
    """Stored and published counts once the relays have caught up."""
    deadline = time.monotonic() + 10
    while True:
        stored, published = stored_and_published(p)
        if stored == published or time.monotonic() > deadline:
            return stored, published
        time.sleep(0.05)


def test_a_retried_call_to_action_is_one_action(platform: Running) -> None:
    """The movement calls a rally, the answer is lost, it sends the same call again: the
    same id comes back and nothing new is stored or published."""
    key = str(uuid.uuid4())
    body = action([])
    first = post(platform, "momentum", "momentum", "/v1/actions", body, key)
    assert first.status_code == 201, first.text
    before = settled(platform)

    again = post(platform, "momentum", "momentum", "/v1/actions", body, key)

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert settled(platform) == before


def test_the_same_key_with_another_body_is_refused(platform: Running) -> None:
    key = str(uuid.uuid4())
    assert post(platform, "scg", "scg", "/v1/attacks", ATTACK, key).status_code == 201
    before = settled(platform)

    other = post(platform, "scg", "scg", "/v1/attacks", {**ATTACK, "summary": "Another attack"}, key)

    assert other.status_code == 422, other.text
    assert "Idempotency-Key" in other.text
    assert settled(platform) == before


def test_the_same_key_and_body_on_another_route_is_refused(platform: Running) -> None:
    """The same pledge, with the same key, to another action is not a retry of the first:
    it is refused, and the first pledge's answer is not given for it."""
    first_action, other_action = (platform.post("momentum", "momentum", "/v1/actions", action([])).json()["id"]
                                  for _ in range(2))
    key, pledge = str(uuid.uuid4()), {"people": 3}
    first = post(platform, "scg", "scg", f"/v1/actions/{first_action}/pledges", pledge, key)
    assert first.status_code == 201, first.text

    other = post(platform, "scg", "scg", f"/v1/actions/{other_action}/pledges", pledge, key)

    assert other.status_code == 422, other.text
    assert "Idempotency-Key" in other.text


def test_a_retried_resolution_answers_as_the_first_did(platform: Running) -> None:
    """Without a key a second resolution is a conflict; with the first one's key it is
    the first answer."""
    attack = platform.post("rmt", "unions", "/v1/attacks", ATTACK).json()["id"]
    key, resolution = str(uuid.uuid4()), {"outcome": "reinstated"}
    first = post(platform, "rmt", "unions", f"/v1/attacks/{attack}/resolution", resolution, key)
    assert first.status_code == 201, first.text

    again = post(platform, "rmt", "unions", f"/v1/attacks/{attack}/resolution", resolution, key)

    assert (again.status_code, again.json()) == (201, first.json())
    assert platform.post("rmt", "unions", f"/v1/attacks/{attack}/resolution", resolution).status_code == 409


def test_eight_concurrent_retries_make_one_attack(platform: Running) -> None:
    key = str(uuid.uuid4())
    before = settled(platform)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(platform, "fbu", "unions", "/v1/attacks", ATTACK, key), range(8)))

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    stored, published = settled(platform)
    assert (stored - before[0], published - before[1]) == (1, 1)


def test_keys_belong_to_their_organisation(platform: Running) -> None:
    """Two unions happen to use the same key: each gets its own attack."""
    key = str(uuid.uuid4())
    rmt = post(platform, "rmt", "unions", "/v1/attacks", ATTACK, key)
    bfawu = post(platform, "bfawu", "unions", "/v1/attacks", ATTACK, key)
    assert rmt.status_code == bfawu.status_code == 201
    assert rmt.json()["id"] != bfawu.json()["id"]


def test_a_key_must_be_printable(platform: Running) -> None:
    resp = post(platform, "momentum", "momentum", "/v1/attacks", ATTACK, "x" * 256)
    assert resp.status_code == 400 and "Idempotency-Key" in resp.text


def test_the_first_answer_survives_a_restart_of_the_service(platform: Running) -> None:
    """The caucus's service is killed after answering; restarted by the supervisor, it
    still knows the answer: the key is kept in PostgreSQL with the events."""
    key = str(uuid.uuid4())
    first = post(platform, "scg", "scg", "/v1/attacks", ATTACK, key)
    assert first.status_code == 201

    victim = platform.child("scg")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    deadline = time.monotonic() + 60
    while True:
        try:
            again = post(platform, "scg", "scg", "/v1/attacks", ATTACK, key)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "scg did not come back"
            time.sleep(0.1)

    assert platform.child("scg").pid != victim.pid
    assert (again.status_code, again.json()) == (201, first.json())
