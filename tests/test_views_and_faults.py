"""Who sees what, and what a caller gets when something is wrong: on the real engines.

The movement shares attacks at every TLP; each organisation reads the board through its
own key and sees what TLP 2.0 lets it see, an anonymous reader CLEAR and GREEN only. An
item the caller may not see is a 404 on every route, word for word the answer for an id
that never existed. Wrong keys are throttled. With PostgreSQL stopped, commands and reads
are answered 503 within two seconds; with NATS stopped, commands are still accepted.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from services.auth import FailedAuthentications
from tests.bodies import ATTACK, action
from tests.conftest import Running, start_platform, stop_platform

#: Which board items each viewer sees of the movement's attacks, by how they are shared.
SHARED_AS = {
    "clear": {"tlp": "CLEAR"},
    "green": {"tlp": "GREEN"},
    "amber": {"tlp": "AMBER"},
    "amber for scg": {"tlp": "AMBER", "audience": ["scg"]},
    "strict for scg": {"tlp": "AMBER+STRICT", "audience": ["scg"]},
    "red for scg": {"tlp": "RED", "audience": ["scg"]},
}
EVERYTHING = set(SHARED_AS)
SEEN_BY: dict[str | None, set[str]] = {
    None: {"clear", "green"},  # no key: TLP 2.0 keeps even AMBER from it
    "momentum": EVERYTHING,  # the publisher
    "scg": EVERYTHING,  # named in every audience
    "rmt": {"clear", "green", "amber"},  # a member: AMBER with no audience is the coalition's
    "forum": {"clear", "green", "amber"},
}


def board(platform: Running, viewer: str | None, **params: Any) -> httpx.Response:
    headers = platform.headers(viewer) if viewer else {}
    return httpx.get(platform.url("forum", "/api/board"), params=params, headers=headers, timeout=40)


def seen(platform: Running, viewer: str | None) -> set[str]:
    resp = board(platform, viewer, limit=5000)
    assert resp.status_code == 200, resp.text
    return {item["id"] for item in resp.json()["items"]}


def wait_seen(platform: Running, viewer: str, *ids: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not set(ids) <= seen(platform, viewer):
        assert time.monotonic() < deadline, f"{viewer} does not see {set(ids) - seen(platform, viewer)}"
        time.sleep(0.05)


def report(platform: Running, org: str, service: str, **sharing: Any) -> str:
    resp = platform.post(org, service, "/v1/attacks", {**ATTACK, **sharing})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def at_once(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Send the requests together (each 404 of a board item waits for it a few seconds)."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def not_found(kind: str, item_id: str) -> dict[str, Any]:
    return {"status_code": 404, "detail": f"no {kind} with id {item_id}"}


def test_each_organisation_sees_what_tlp_2_lets_it(platform: Running) -> None:
    """The movement reports an attack at every sharing level; the anonymous board shows
    CLEAR and GREEN only, the caucus (named in every audience) everything, the RMT and
    the forum what is shared with the whole coalition."""
    ids = {name: report(platform, "momentum", "momentum", **sharing) for name, sharing in SHARED_AS.items()}
    wait_seen(platform, "momentum", *ids.values())
    for viewer, expected in SEEN_BY.items():
        visible = seen(platform, viewer)
        assert {name for name, item_id in ids.items() if item_id in visible} == expected, viewer


def test_a_wrong_key_on_the_board_is_401_not_the_open_view(platform: Running) -> None:
    for params in ({}, {"since": 1, "wait": 5}):
        began = time.monotonic()
        resp = httpx.get(platform.url("forum", "/api/board"), params=params,
                         headers={"Authorization": "Bearer coal_forum_guessed"}, timeout=10)
        assert resp.status_code == 401, resp.text
        assert time.monotonic() - began < 1, "a wrong key is refused before any wait"


def test_an_item_the_caller_may_not_see_is_404_like_an_unknown_one(platform: Running) -> None:
    """The RMT reports an attack and calls an action for the BFAWU's eyes only. To the FBU
    (and to the forum) they do not exist: resolving, pledging and triaging get exactly the
    answer an unknown id gets. The BFAWU may pledge; resolving is the RMT's alone."""
    red_attack = report(platform, "rmt", "unions", tlp="RED", audience=["bfawu"])
    strict_action = platform.post("rmt", "unions", "/v1/actions",
                                  {**action([red_attack]), "tlp": "AMBER+STRICT", "audience": ["bfawu"]})
    assert strict_action.status_code == 201, strict_action.text
    strict = strict_action.json()["id"]
    wait_seen(platform, "bfawu", red_attack, strict)
    assert not {red_attack, strict} & seen(platform, "fbu")
    unknown = str(uuid.uuid4())

    def resolve(org: str, attack: str) -> Callable[[], httpx.Response]:
        return lambda: platform.post(org, "unions", f"/v1/attacks/{attack}/resolution", {"outcome": "reinstated"})

    def pledge(org: str, service: str, item: str) -> Callable[[], httpx.Response]:
        return lambda: platform.post(org, service, f"/v1/actions/{item}/pledges", {"people": 5})

    def triage(item: str) -> Callable[[], httpx.Response]:
        return lambda: platform.post("forum", "forum", f"/v1/items/{item}/triage", {"status": "acknowledged"})

    calls = {
        "fbu resolves": (resolve("fbu", red_attack), resolve("fbu", unknown), "attack", red_attack),
        "bfawu resolves": (resolve("bfawu", red_attack), resolve("bfawu", unknown), "attack", red_attack),
        "fbu pledges": (pledge("fbu", "unions", strict), pledge("fbu", "unions", unknown), "action", strict),
        "momentum pledges": (pledge("momentum", "momentum", strict), pledge("momentum", "momentum", unknown),
                             "action", strict),
        "forum triages": (triage(red_attack), triage(unknown), "item", red_attack),
    }
    answers = at_once(*(call for hidden, absent, _, _ in calls.values() for call in (hidden, absent)))
    for n, (what, (_, _, kind, item)) in enumerate(calls.items()):
        hidden, absent = answers[2 * n], answers[2 * n + 1]
        assert (hidden.status_code, absent.status_code) == (404, 404), (what, hidden.text, absent.text)
        assert hidden.json() == not_found(kind, item), what
        assert absent.json() == not_found(kind, unknown), what
    assert pledge("bfawu", "unions", strict)().status_code == 201


def test_a_long_poll_does_not_wake_for_what_the_caller_cannot_see(platform: Running) -> None:
    """An anonymous reader waits on the board while the movement reports a RED attack for
    the caucus: the board moves, the wait does not end; a GREEN attack then ends it."""
    position = board(platform, None).json()["position"]
    with ThreadPoolExecutor(1) as pool:
        began = time.monotonic()
        waiting = pool.submit(board, platform, None, since=position, wait=3)
        red = report(platform, "momentum", "momentum", tlp="RED", audience=["scg"])
        wait_seen(platform, "scg", red)
        moved = board(platform, "scg").json()["position"]
        assert moved > position
        resp = waiting.result()
        assert resp.status_code == 200, resp.text
        assert time.monotonic() - began >= 2.9, "the wait ended for a change the reader cannot see"
        assert resp.json()["items"] == []

        began = time.monotonic()
        waiting = pool.submit(board, platform, None, since=moved, wait=20)
        time.sleep(0.3)
        report(platform, "momentum", "momentum", tlp="RED", audience=["scg"])
        green = report(platform, "momentum", "momentum", tlp="GREEN")
        resp = waiting.result()
        assert time.monotonic() - began < 10
    assert [item["id"] for item in resp.json()["items"]] == [green]


def test_a_pledge_or_triage_right_after_the_item_was_created_elsewhere(platform: Running) -> None:
    """The movement calls an action and reports an attack; the caucus pledges and the forum
    triages the moment the 201s come back, before the board can have caught up."""
    for _ in range(3):
        called = platform.post("momentum", "momentum", "/v1/actions", action([]))
        assert called.status_code == 201, called.text
        pledged = platform.post("scg", "scg", f"/v1/actions/{called.json()['id']}/pledges", {"people": 2})
        assert pledged.status_code == 201, pledged.text
        attack = report(platform, "momentum", "momentum")
        triaged = platform.post("forum", "forum", f"/v1/items/{attack}/triage", {"status": "acknowledged"})
        assert triaged.status_code == 201, triaged.text


def from_address(address: str) -> httpx.Client:
    """A client whose requests come from ``address`` (any 127.x.y.z reaches loopback)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def test_wrong_key_guesses_are_throttled_per_address(platform: Running) -> None:
    """100 guesses from one address: 20 are answered 401, then 429 with Retry-After, and
    from that address even the right key is not looked at. Other addresses are unaffected."""
    url = platform.url("unions", "/v1/attacks")
    with from_address("127.0.0.31") as guesser:
        answers = [guesser.post(url, json=ATTACK, headers={"Authorization": f"Bearer coal_rmt_guess{n}"})
                   for n in range(100)]
        right_key = guesser.post(url, json=ATTACK, headers=platform.headers("rmt"))
    assert [r.status_code for r in answers] == [401] * 20 + [429] * 80
    assert all(0 < int(r.headers["retry-after"]) <= 60 for r in answers[20:])
    assert right_key.status_code == 429
    with from_address("127.0.0.32") as neighbour:
        assert neighbour.post(url, json=ATTACK, headers=platform.headers("rmt")).status_code == 201


def test_one_wrong_key_is_throttled_from_any_address(platform: Running) -> None:
    """The same wrong key tried from 25 addresses: after 20 failures it is refused unread."""
    url = platform.url("unions", "/v1/attacks")
    codes = []
    for n in range(25):
        with from_address(f"127.0.1.{n + 1}") as client:
            codes.append(client.post(url, json=ATTACK, headers={"Authorization": "Bearer coal_rmt_leaked"}).status_code)
    assert codes == [401] * 20 + [429] * 5


def test_the_throttle_forgets_failures_a_minute_old() -> None:
    """Retry-After counts down to the moment the oldest failure leaves the window; 0 is off."""
    now = [0.0]
    failures = FailedAuthentications(3, clock=lambda: now[0])
    for _ in range(3):
        failures.failed("address 127.0.0.9")
    assert failures.retry_after("address 127.0.0.9", "key abc") == 60
    now[0] = 30.0
    assert failures.retry_after("address 127.0.0.9") == 30
    now[0] = 60.5
    assert failures.retry_after("address 127.0.0.9") is None
    off = FailedAuthentications(0)
    for _ in range(100):
        off.failed("address 127.0.0.9")
    assert off.retry_after("address 127.0.0.9") is None


# --- faults: a platform of its own, whose engines the tests stop -------------------------


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start_platform(tmp_path_factory.mktemp("faults") / "data")
    yield running
    os.kill(running.proc.pid, signal.SIGCONT)  # in case a test stopped its supervisor
    stop_platform(running)


@contextmanager
def stopped(platform: Running, engine: str) -> Iterator[None]:
    """``engine`` stopped, and kept down: the supervisor (which would restart it at once) is
    paused until the block ends, then brings the engine back on its port and data."""
    supervisor = platform.proc.pid
    pid = json.loads((platform.data_dir / "pids.json").read_text())[engine]
    address = platform.database_url if engine == "postgres" else platform.nats_url
    parts = urlsplit(address)
    os.kill(supervisor, signal.SIGSTOP)
    try:
        os.kill(pid, signal.SIGINT if engine == "postgres" else signal.SIGTERM)  # a clean, fast shutdown
        deadline = time.monotonic() + 20
        while _listening(parts.hostname or "127.0.0.1", parts.port or 0):
            assert time.monotonic() < deadline, f"{engine} did not stop"
            time.sleep(0.05)
        yield
    finally:
        os.kill(supervisor, signal.SIGCONT)


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def accepted_again(platform: Running, org: str, service: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            resp = platform.post(org, service, "/v1/attacks", ATTACK)
            if resp.status_code == 201:
                return str(resp.json()["id"])
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{service} accepted nothing for {timeout}s")


def timed(call: Callable[[], httpx.Response]) -> Callable[[], tuple[httpx.Response, float]]:
    def timing() -> tuple[httpx.Response, float]:
        began = time.monotonic()
        resp = call()
        return resp, time.monotonic() - began

    return timing


def test_postgres_stopped_is_503_with_retry_after_within_2s_and_logged(own: Running) -> None:
    """With PostgreSQL down, every command and read is answered 503 with Retry-After in
    under two seconds, and the service logs each with its traceback; when PostgreSQL is
    back, commands and reads succeed again within seconds."""
    attack = report(own, "momentum", "momentum")
    act = own.post("momentum", "momentum", "/v1/actions", action([attack])).json()["id"]
    own.wait_on_board(attack, act)
    calls = {
        "report": lambda: own.post("momentum", "momentum", "/v1/attacks", ATTACK),
        "resolve": lambda: own.post("momentum", "momentum", f"/v1/attacks/{attack}/resolution",
                                    {"outcome": "reinstated"}),
        "pledge": lambda: own.post("scg", "scg", f"/v1/actions/{act}/pledges", {"people": 3}),
        "triage": lambda: own.post("forum", "forum", f"/v1/items/{attack}/triage", {"status": "acknowledged"}),
        "board": lambda: httpx.get(own.url("forum", "/api/board"), timeout=30),
        "keyed board": lambda: httpx.get(own.url("forum", "/api/board"), headers=own.headers("scg"), timeout=30),
        "long poll": lambda: httpx.get(own.url("forum", "/api/board"), params={"since": 1, "wait": 10},
                                       timeout=30),
    }
    with stopped(own, "postgres"):
        # all at once, twice: the first round meets the pools' broken connections, the second none
        for _ in range(2):
            for what, (resp, took) in zip(calls, at_once(*map(timed, calls.values())), strict=True):
                assert resp.status_code == 503, (what, resp.text)
                assert int(resp.headers["retry-after"]) > 0, what
                assert took < 2.0, f"{what} took {took:.2f}s"
    began = time.monotonic()
    accepted_again(own, "momentum", "momentum")
    while httpx.get(own.url("forum", "/api/board"), timeout=30).status_code != 200:
        assert time.monotonic() - began < 10, "the board did not come back"
        time.sleep(0.1)
    log = (own.data_dir / "logs" / "momentum.log").read_text()
    assert "POST /v1/attacks: PostgreSQL unavailable, answered 503\nTraceback" in log


def test_nats_stopped_commands_are_still_accepted_and_published_later(own: Running) -> None:
    """With NATS down, a command is stored and answered 201 at once (the relay publishes it
    when NATS is back); the board still answers."""
    with stopped(own, "nats"):
        resp, took = timed(lambda: own.post("momentum", "momentum", "/v1/attacks", ATTACK))()
        assert resp.status_code == 201, resp.text
        assert took < 2.0
        assert httpx.get(own.url("forum", "/api/board"), timeout=10).status_code == 200
    own.wait_on_board(resp.json()["id"], timeout=60)

