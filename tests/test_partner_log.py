"""Partner changes are on the log: ``coalition partners add|revoke|replay`` makes the change on
the NATS server, then the running forum records it as ``partner.changed``, attributed to the
forum — part of the same audit trail as every decision. Only the forum's key may record
one; a bad body is refused naming the field, with nothing stored or published.

On a platform of its own: these tests revoke and replay partners' consumers, and add a
partner to ``coalition.toml`` while the platform runs (the BFAWU is not a partner when it
starts)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import msgspec
import nats
import pytest
from nats.js.api import DeliverPolicy

from contracts import decode_envelope
from contracts.envelope import CloudEvent
from coalition import natsconf
from events import partners
from events.organisations import DEFAULT_COORDINATORS, DEFAULT_ORGANISATIONS
from events.pull import PullConsumer
from events.sharing import SHARE_STREAM, load_partners
from events.stream import connect, with_credentials
from tests.bodies import ATTACK
from tests.conftest import Running, start_platform, stop_platform
from tests.shared_log import stored_and_published

CHANGED = "coalition.forum.partner.changed"


#: The BFAWU is an organisation of the coalition, but not a partner when the platform starts.
LATE_PARTNER = "bfawu"


def toml(table: str, rows: list[dict[str, str]]) -> str:
    return "".join(f"[[{table}]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in row.items()) + "\n"
                   for row in rows)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    data = tmp_path_factory.mktemp("partner-log") / "data"
    data.mkdir()
    (data / "coalition.toml").write_text(
        toml("organisations", [msgspec.to_builtins(o) for o in DEFAULT_ORGANISATIONS])
        + toml("coordinators", [msgspec.to_builtins(c) for c in DEFAULT_COORDINATORS])
        + toml("partners", [{"org": o.id} for o in DEFAULT_ORGANISATIONS if o.id != LATE_PARTNER]))
    running = start_platform(data)
    yield running
    stop_platform(running)


def partners_cli(platform: Running, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coalition.cli", "partners", *args, "--data-dir",
                           str(platform.data_dir)], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **(env or {})})


def partner_changes(platform: Running, at_least: int = 0, within: float = 20.0, of: str | None = None) -> list[CloudEvent]:
    """Every ``partner.changed`` on the shared log (of partner ``of``, if given), once at least
    ``at_least`` are there (the forum's relay publishes a moment after its ``201``)."""
    async def read() -> list[CloudEvent]:
        nc = await nats.connect(platform.nats_url)
        try:
            js = nc.jetstream()
            if not (await js.stream_info("COALITION")).state.messages:
                return []
            sub = await js.subscribe(CHANGED, stream="COALITION", ordered_consumer=True,
                                     deliver_policy=DeliverPolicy.ALL)
            found = []
            try:
                while True:
                    found.append(decode_envelope((await sub.next_msg(timeout=1)).data))
            except nats.errors.TimeoutError:
                return found
        finally:
            await nc.close()

    deadline = time.monotonic() + within
    while True:
        found = [c for c in asyncio.run(read()) if of is None or c.data.partner == of]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def active(platform: Running, org: str) -> bool:
    async def state() -> bool:
        nc = await nats.connect(platform.nats_url)
        try:
            partner = next(p for p in load_partners(platform.data_dir) if p.org == org)
            return (await partners.states(nc.jetstream(), (partner,)))[0].active
        finally:
            await nc.close()

    return asyncio.run(state())


def test_add_revoke_and_replay_are_each_recorded_on_the_log_attributed_to_the_forum(platform: Running) -> None:
    """The administrator confirms the FBU as a partner, revokes it, then replays its stream
    from log position 1: three changes on the NATS server, three ``partner.changed`` on the
    log, in that order, published by the forum's service, shared AMBER with the FBU."""
    for args in (("add", "fbu"), ("revoke", "fbu"), ("replay", "fbu", "--from", "1", "--note", "after an outage")):
        done = partners_cli(platform, *args)
        assert done.returncode == 0, done.stderr
        assert "recorded on the log as partner.changed" in done.stdout
        assert active(platform, "fbu") == (args[0] != "revoke")

    changes = partner_changes(platform, at_least=3)
    assert [(c.data.partner, c.data.change, c.data.from_position) for c in changes] == [
        ("fbu", "added", None), ("fbu", "revoked", None), ("fbu", "replayed", 1)]
    for c in changes:
        assert c.type == "partner.changed.v1" and c.source == "/services/forum"
        assert (c.data.org, c.data.actor, c.data.max_tlp) == ("forum", None, "AMBER+STRICT")
        assert (c.data.tlp, c.data.audience) == ("AMBER", ["fbu"])
    assert changes[-1].data.note == "after an outage"
    assert len({c.subject for c in changes}) == 1  # one partnership: the FBU's history

    # the board's copy of the log keeps them: the FBU's changes as the forum and the FBU
    # see them; the open view (no key) and another organisation see none (AMBER)
    def listed(org: str | None) -> list[dict]:
        resp = httpx.get(platform.url("forum", "/v1/partners/fbu/changes"), timeout=30,
                         headers=platform.headers(org) if org else {})
        assert resp.status_code == 200, resp.text
        return resp.json()

    deadline = time.monotonic() + 20
    while len(listed("forum")) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    entries = listed("forum")
    assert [e["summary"] for e in entries] == [
        "partner fbu added (up to TLP:AMBER+STRICT) by forum",
        "partner fbu revoked (up to TLP:AMBER+STRICT) by forum",
        "partner fbu replayed from log position 1 (up to TLP:AMBER+STRICT) by forum: after an outage"]
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert listed("fbu") == entries
    assert listed(None) == [] and listed("momentum") == []


def test_a_command_run_again_records_its_change_once(platform: Running) -> None:
    """``add`` run twice on a partner already receiving (as after a record that failed) sends
    the same Idempotency-Key: one ``partner.changed`` for the SCG, however often it is run."""
    for _ in range(2):
        done = partners_cli(platform, "add", "scg")
        assert done.returncode == 0, done.stderr
    partner_changes(platform, at_least=1, of="scg")
    assert [c.data.change for c in partner_changes(platform, of="scg")] == ["added"]


def test_with_the_forum_away_nothing_is_changed_and_the_command_says_so(platform: Running) -> None:
    """Nothing listens where the forum should be: the revocation is not made (the RMT still
    receives), nothing is recorded, and the command exits non-zero saying why."""
    before = len(partner_changes(platform))
    done = partners_cli(platform, "revoke", "rmt", env={"COALITION_FORUM_URL": "http://127.0.0.1:9"})
    assert done.returncode == 1
    assert "the forum is not running at http://127.0.0.1:9" in done.stderr and "nothing was changed" in done.stderr
    assert active(platform, "rmt")
    assert len(partner_changes(platform)) == before


def test_only_the_forums_key_records_a_partner_change(platform: Running) -> None:
    """The movement's key is refused (403), a partner the configuration does not list is a
    404 naming it; nothing is stored or published."""
    partner_changes(platform)  # whatever earlier tests sent is on the log
    before = stored_and_published(platform)
    refused = platform.post("momentum", "forum", "/v1/partners/rmt/changes", {"change": "revoked"})
    assert refused.status_code == 403, refused.text
    unknown = platform.post("forum", "forum", "/v1/partners/acme/changes", {"change": "added"})
    assert unknown.status_code == 404 and "no partner acme" in unknown.json()["detail"]
    assert stored_and_published(platform) == before


BAD_BODIES = [
    ({"change": "renamed"}, "change"),
    ({}, "change"),
    ({"change": "replayed"}, "from_position"),
    ({"change": "added", "from_position": 3}, "from_position"),
    ({"change": "replayed", "from_position": -1}, "from_position"),
    ({"change": "replayed", "from_position": "1"}, "from_position"),
    ({"change": "revoked", "tlp": "PURPLE"}, "tlp"),
    ({"change": "revoked", "note": "bad\x00note"}, "note"),
    ({"change": "revoked", "partner": "fbu"}, "partner"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES, ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD_BODIES)])
def test_a_bad_body_is_refused_naming_the_field(platform: Running, body: dict, field: str) -> None:
    partner_changes(platform)
    before = stored_and_published(platform)
    resp = platform.post("forum", "forum", "/v1/partners/rmt/changes", body)
    assert resp.status_code == 400, resp.text
    assert field in resp.text
    assert stored_and_published(platform) == before


def test_a_partner_added_to_the_configuration_is_made_without_restarting_nats(platform: Running) -> None:
    """The BFAWU joins the partners in coalition.toml while the platform runs. ``partners
    add bfawu`` makes its NATS user (a password in secrets.json, the server reloading its
    users: the same NATS process, no restart) and its consumer of SHARE; with only its own
    new credentials, the BFAWU then fetches what it may receive, from the start of the log."""
    secrets, pids = platform.data_dir / "secrets.json", platform.data_dir / "pids.json"
    user = natsconf.partner_user_name(LATE_PARTNER)
    assert user not in json.loads(secrets.read_text())["nats"]
    nats_pid = json.loads(pids.read_text())["nats"]
    item = platform.post("momentum", "momentum", "/v1/attacks", dict(ATTACK, tlp="GREEN")).json()["id"]
    with (platform.data_dir / "coalition.toml").open("a") as toml_file:
        toml_file.write(toml("partners", [{"org": LATE_PARTNER, "max_tlp": "GREEN"}]))

    done = partners_cli(platform, "add", LATE_PARTNER)
    assert done.returncode == 0, done.stderr
    assert f"NATS user {user} made" in done.stdout and "no restart" in done.stdout
    assert json.loads(pids.read_text())["nats"] == nats_pid, "the same NATS server"
    password = json.loads(secrets.read_text())["nats"][user]

    async def fetch() -> list[str]:
        url = with_credentials(platform.endpoints["nats"], user, password)
        for _ in range(100):  # the server applies the reload a moment after the signal
            try:
                nc = await connect(url, "test-late-partner", persistent=False)
                break
            except Exception:  # noqa: BLE001 - authorization refused until the reload is applied
                await asyncio.sleep(0.1)
        pump = PullConsumer(nc, SHARE_STREAM, partners.durable(LATE_PARTNER), batch=500)
        await pump.start()
        got: list[str] = []
        try:
            for _ in range(200):
                got += [msgspec.json.decode(m.data)["subject"] for m in await pump.next_batch(timeout=0.1)]
                if item in got:
                    break
        finally:
            await pump.stop()
            await nc.close()
        return got

    assert item in asyncio.run(fetch())
    assert active(platform, LATE_PARTNER)
    assert [c.data.change for c in partner_changes(platform, at_least=1, of=LATE_PARTNER)] == ["added"]
