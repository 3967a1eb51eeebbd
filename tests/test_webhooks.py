"""Partners' webhooks, on the real engines: a partner's receiver (``tests/receiver.py``)
verifies every delivery with the ``standardwebhooks`` package and parses it with the
``cloudevents`` SDK. It fails for a while, recovers, and has received exactly what the
sharing policy grants its organisation, once each by ``webhook-id``, in log order, across
a SIGKILL of the deliverer; a ``410`` disables an endpoint; a private target is refused;
a rotated secret and the one before both verify during the overlap.

The platform is this module's own: loopback targets allowed, a short retry schedule."""

from __future__ import annotations

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from standardwebhooks import Webhook

from tests.bodies import ATTACK, STRIKE
from tests.conftest import Running, start_platform, stop_platform
from tests.receiver import Receiver

SETTINGS = {
    "COALITION_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8,::1/128",
    "COALITION_WEBHOOK_RETRY_SCHEDULE": "0,0.1,0.2,0.3",
    "COALITION_WEBHOOK_JITTER": "0.5",
    "COALITION_AUTH_FAILURES_PER_MINUTE": "0",
}


def start_with_settings(folder: Path) -> Running:
    """A platform of its own whose deliverer allows loopback targets and retries fast
    (``SETTINGS``), the environment as it was once it has started."""
    saved = {k: os.environ.get(k) for k in SETTINGS}
    os.environ.update(SETTINGS)
    try:
        return start_platform(folder)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start_with_settings(tmp_path_factory.mktemp("webhooks") / "data")
    yield running
    stop_platform(running)


def register(p: Running, org: str, url: str, **extra: object) -> httpx.Response:
    return httpx.post(p.url("forum", "/v1/webhooks"), json={"url": url, **extra}, headers=p.headers(org), timeout=30)


def endpoint_of(p: Running, org: str, endpoint_id: str) -> dict:
    resp = httpx.get(p.url("forum", "/v1/webhooks"), headers=p.headers(org), timeout=30)
    assert resp.status_code == 200, resp.text
    return next(e for e in resp.json() if e["id"] == endpoint_id)


def attack(p: Running, tlp: str, audience: list[str] | None = None) -> str:
    resp = p.post("momentum", "momentum", "/v1/attacks", {**ATTACK, "tlp": tlp, "audience": audience})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def wait_until(check, what: str, timeout: float = 60.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g}s: {what}")
        time.sleep(0.05)


def test_a_partner_receives_everything_it_may_once_in_order_through_failures_and_a_restart(
        hooked: Running, receiver: Receiver) -> None:
    """rmt's endpoint answers 500 three times, then 503 and 429 with Retry-After, then
    recovers; the deliverer is killed once it is quiet and the log moves on meanwhile. rmt
    receives every GREEN item and every AMBER item naming it, each once, in log order, and
    never the AMBER item meant for the FBU."""
    path = "/rmt"
    receiver.scripts[path] = [(500, {}), (500, {}), (500, {}), (503, {"Retry-After": "2"}),
                              (429, {"Retry-After": "1"})]
    created = register(hooked, "rmt", receiver.url(path))
    assert created.status_code == 201, created.text
    endpoint = created.json()["endpoint"]
    assert created.json()["secret"].startswith("whsec_") and endpoint["types"] == []
    receiver.secrets[path] = [created.json()["secret"]]

    first = [attack(hooked, "GREEN"), attack(hooked, "AMBER", ["rmt"]), attack(hooked, "AMBER", ["fbu"]),
             attack(hooked, "GREEN"), attack(hooked, "AMBER+STRICT", ["rmt"]), attack(hooked, "RED", ["rmt"])]
    expected = [first[0], first[1], first[3], first[4]]
    wait_until(lambda: len(receiver.received(path)) >= len(expected), "the first items delivered")
    answers = [d.answered for d in receiver.at(path)]
    assert answers[:6] == [500, 500, 500, 503, 429, 200]
    after_503 = receiver.at(path)[4].at - receiver.at(path)[3].at
    assert after_503 >= 1.9, "the 503's Retry-After: 2 was honoured"

    # quiet: everything delivered is recorded; then the deliverer dies without a word
    last = receiver.received(path)[-1]
    wait_until(lambda: endpoint_of(hooked, "rmt", endpoint["id"])["attempts"] == 0
               and endpoint_of(hooked, "rmt", endpoint["id"])["position"] >= position_of(hooked, last.webhook_id),
               "the delivered position recorded")
    victim = hooked.child("webhooks")
    victim.send_signal(signal.SIGKILL)
    second = [attack(hooked, "GREEN"), attack(hooked, "AMBER", ["fbu", "rmt"]), attack(hooked, "CLEAR")]
    expected += second
    wait_until(lambda: len(receiver.received(path)) >= len(expected), "the items published while it was down")
    assert hooked.child("webhooks").pid != victim.pid

    got = receiver.received(path)
    assert [d.subject for d in got] == expected, "everything rmt may receive, in log order, nothing else"
    assert len(receiver.accepted(path)) == len(expected), "no event accepted twice"
    assert first[2] not in {d.subject for d in receiver.at(path)}, "the FBU's AMBER item never went to rmt"
    positions = [position_of(hooked, d.webhook_id) for d in got]
    assert positions == sorted(positions)


_POSITIONS: dict[str, int] = {}


def position_of(p: Running, event_id: str) -> int:
    """The position of a CloudEvent on the shared log (read as the admin)."""
    if event_id not in _POSITIONS:
        import asyncio

        from events.logread import read_after
        from events.stream import connect

        async def scan() -> None:
            nc = await connect(p.nats_url, "test-positions", persistent=False)
            try:
                after = max(_POSITIONS.values(), default=0)
                while page := await read_after(nc, after):
                    for seq, raw in page:
                        _POSITIONS[json.loads(raw)["id"]] = seq
                    after = page[-1][0]
            finally:
                await nc.close()

        asyncio.run(scan())
    return _POSITIONS[event_id]


def test_410_disables_the_endpoint(hooked: Running, receiver: Receiver) -> None:
    receiver.scripts["/gone"] = [(410, {})]
    gone = register(hooked, "fbu", receiver.url("/gone"))
    control = register(hooked, "fbu", receiver.url("/fbu-control"))
    receiver.secrets["/gone"] = [gone.json()["secret"]]
    receiver.secrets["/fbu-control"] = [control.json()["secret"]]
    one = attack(hooked, "GREEN")
    wait_until(lambda: endpoint_of(hooked, "fbu", gone.json()["endpoint"]["id"])["disabled"], "disabled")
    assert "410" in endpoint_of(hooked, "fbu", gone.json()["endpoint"]["id"])["disabled"]
    two = attack(hooked, "GREEN")
    wait_until(lambda: two in [d.subject for d in receiver.received("/fbu-control")], "the control got the next")
    assert [d.subject for d in receiver.at("/gone")] == [one], "nothing after the 410"


def test_a_filtered_endpoint_receives_only_its_types(hooked: Running, receiver: Receiver) -> None:
    created = register(hooked, "rmt", receiver.url("/strikes"), types=["strike.called.v1"])
    endpoint_id = created.json()["endpoint"]["id"]
    receiver.secrets["/strikes"] = [created.json()["secret"]]
    attack(hooked, "GREEN")
    strike = hooked.post("rmt", "unions", "/v1/strikes", STRIKE).json()["id"]
    wait_until(lambda: receiver.received("/strikes"), "the strike delivered")
    other = attack(hooked, "GREEN")
    hooked.wait_on_board(other)
    end = last_position(hooked)  # the later attack is on the log, at or before its end
    wait_until(lambda: endpoint_of(hooked, "rmt", endpoint_id)["position"] >= end,
               "the endpoint passed the later attack")
    assert [(d.subject, d.type) for d in receiver.received("/strikes")] == [(strike, "strike.called.v1")]


def last_position(p: Running) -> int:
    """The end of the shared log (as the admin)."""
    import asyncio

    from events.logread import log_end
    from events.stream import connect

    async def end() -> int:
        nc = await connect(p.nats_url, "test-end", persistent=False)
        try:
            return await log_end(nc)
        finally:
            await nc.close()

    return asyncio.run(end())


@pytest.mark.parametrize("url", ["http://10.1.2.3/hook", "http://169.254.169.254/latest", "http://192.168.0.10/",
                                 "http://[fe80::1]/", "ftp://example.org/", "http://user:pw@127.0.0.1/"])
def test_a_target_that_is_not_public_is_refused(hooked: Running, url: str) -> None:
    def registered() -> set[str]:
        listed = httpx.get(hooked.url("forum", "/v1/webhooks"), headers=hooked.headers("rmt"), timeout=30).json()
        return {e["id"] for e in listed}

    before = registered()
    resp = register(hooked, "rmt", url)
    assert resp.status_code == 400, resp.text
    assert resp.json()["extra"][0]["key"] == "url"
    assert registered() == before, "nothing registered"


def test_the_cli_refuses_a_private_target_and_lists_endpoints(hooked: Running) -> None:
    out = subprocess.run([sys.executable, "-m", "coalition.cli", "webhooks", "add", "rmt", "http://10.0.0.8/",
                          "--data-dir", str(hooked.data_dir)], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "10.0.0.8" in out.stderr
    listed = subprocess.run([sys.executable, "-m", "coalition.cli", "webhooks", "list", "--org", "rmt",
                             "--data-dir", str(hooked.data_dir)], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert all(json.loads(line)["org"] == "rmt" for line in listed.stdout.splitlines())


def test_during_a_rotation_both_secrets_sign_every_delivery(hooked: Running, receiver: Receiver) -> None:
    """After a rotation (which the deliverer picks up within a moment, without stopping),
    each delivery carries two signatures, each verifying with one secret on its own: a
    receiver holding either secret accepts it."""
    path = "/rotating"
    created = register(hooked, "scg", receiver.url(path))
    old = created.json()["secret"]
    receiver.secrets[path] = [old]
    before = attack(hooked, "GREEN")
    wait_until(lambda: receiver.received(path), "the first delivery")
    rotated = httpx.post(hooked.url("forum", f"/v1/webhooks/{created.json()['endpoint']['id']}/rotation"),
                         headers=hooked.headers("scg"), timeout=30)
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["secret"]
    assert new != old and rotated.json()["rotating_until"]
    receiver.secrets[path] = [old, new]
    after = []
    for _ in range(20):  # until the rotation is in force, then once more
        after.append(attack(hooked, "GREEN"))
        wait_until(lambda: after[-1] in [d.subject for d in receiver.received(path)], "the next delivery")
        if len(receiver.received(path)[-1].signature.split(" ")) == 2 and len(after) >= 2 and \
                len(receiver.received(path)[-2].signature.split(" ")) == 2:
            break
    got = receiver.received(path)
    assert [d.subject for d in got] == [before, *after]
    assert len(got[0].signature.split(" ")) == 1
    for delivery in got[-2:]:
        assert len(delivery.signature.split(" ")) == 2
        for secret in (old, new):
            assert Webhook(secret).verify(delivery.body, delivery.headers)["subject"] == delivery.subject


def test_failed_deliveries_are_listed_and_redelivered_from_a_position(hooked: Running, receiver: Receiver) -> None:
    """An endpoint that fails every attempt of the schedule has the event listed among its
    failures, goes on trying, and gets it once it recovers; a redelivery from a position
    sends everything after it again, in order, with the same webhook-ids."""
    path = "/flaky"
    receiver.scripts[path] = [(500, {})] * 6
    created = register(hooked, "rmt", receiver.url(path))
    endpoint_id = created.json()["endpoint"]["id"]
    start = created.json()["endpoint"]["position"]
    receiver.secrets[path] = [created.json()["secret"]]
    items = [attack(hooked, "GREEN"), attack(hooked, "GREEN")]
    wait_until(lambda: len(receiver.received(path)) == 2, "both delivered after the failures")
    failures = httpx.get(hooked.url("forum", f"/v1/webhooks/{endpoint_id}/failures"), headers=hooked.headers("rmt"),
                         timeout=30).json()
    assert [f["event_id"] for f in failures] == [receiver.received(path)[0].webhook_id]
    assert failures[0]["attempts"] >= 4 and failures[0]["last_error"] == "HTTP 500"
    wait_until(lambda: httpx.get(hooked.url("forum", f"/v1/webhooks/{endpoint_id}/failures"),
                                 headers=hooked.headers("rmt"), timeout=30).json()[0]["delivered_at"], "marked delivered")

    again = httpx.post(hooked.url("forum", f"/v1/webhooks/{endpoint_id}/redelivery"), json={"after": start},
                       headers=hooked.headers("rmt"), timeout=30)
    assert again.status_code == 202, again.text
    wait_until(lambda: len(receiver.accepted(path)) == 4, "both delivered again")
    assert [d.subject for d in receiver.accepted(path)] == items + items
    ids = [d.webhook_id for d in receiver.accepted(path)]
    assert ids[:2] == ids[2:]
    bad = httpx.post(hooked.url("forum", f"/v1/webhooks/{endpoint_id}/redelivery"), json={"after": -1},
                     headers=hooked.headers("rmt"), timeout=30)
    assert bad.status_code == 400 and "after" in bad.text
    other = httpx.get(hooked.url("forum", f"/v1/webhooks/{endpoint_id}/failures"), headers=hooked.headers("fbu"),
                      timeout=30)
    assert other.status_code == 404, "another partner's endpoint is not there"


def test_a_partner_of_another_service_may_send_an_idempotency_key(hooked: Running, receiver: Receiver) -> None:
    """The RMT publishes through the unions' service: its key on the forum's partner routes
    is not refused for the header a careful client sends with every POST."""
    resp = httpx.post(hooked.url("forum", "/v1/webhooks"), json={"url": receiver.url("/keyed")},
                      headers={**hooked.headers("rmt"), "Idempotency-Key": "rmt-register-1"}, timeout=30)
    assert resp.status_code == 201, resp.text
    assert resp.json()["endpoint"]["org"] == "rmt"
