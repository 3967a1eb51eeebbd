"""The demo: a week of coalition coordination, driven through the public HTTP APIs.

An MP is threatened over a statement; members are suspended; the RMT calls a rail
strike with pickets and asks for solidarity; the movement calls picket support and
local groups pledge people; the forum triages; a reinstatement is won. Then a wave of
pledges from local groups shows how many commands a second the platform takes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

log = logging.getLogger("coalition.demo")

LOCAL_GROUPS = [
    "Camden", "Leeds", "Bristol", "Manchester", "Liverpool", "Glasgow", "Cardiff", "Newcastle",
    "Sheffield", "Norwich", "Brighton", "Nottingham", "Hackney", "Lewisham", "Salford", "Swansea",
]


@dataclass
class Demo:
    endpoints: dict[str, str]
    keys: dict[str, str]
    client: aiohttp.ClientSession
    commands: int = 0
    ids: dict[str, str] = field(default_factory=dict)

    async def post(self, org: str, service: str, path: str, body: dict[str, Any]) -> str:
        """Send a command as a careful client does: with an ``Idempotency-Key``, so that a
        retry after a lost connection or a 503 can never record it twice."""
        headers = {"Authorization": f"Bearer {self.keys[org]}", "Idempotency-Key": str(uuid.uuid4())}
        for attempt in range(3):
            try:
                async with self.client.post(f"{self.endpoints[service]}{path}", json=body, headers=headers) as resp:
                    if resp.status == 503 and attempt < 2:
                        await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))
                        continue
                    if resp.status != 201:
                        raise RuntimeError(f"{org} POST {path} → {resp.status}: {await resp.text()}")
                    self.commands += 1
                    return str((await resp.json())["id"])
            except aiohttp.ClientConnectionError:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.5)
        raise RuntimeError(f"{org} POST {path}: no answer")

    async def board(self) -> dict[str, Any]:
        """The board as the coordinators see it (AMBER included, which no anonymous reader sees)."""
        async with self.client.get(f"{self.endpoints['forum']}/api/board",
                                   headers={"Authorization": f"Bearer {self.keys['forum']}"}) as resp:
            return dict(await resp.json())

    async def on_board(self, *item_ids: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            board = await self.board()
            seen = {item["id"] for item in board["items"]}
            if all(i in seen for i in item_ids):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"items {item_ids} not on the board after {timeout}s")


def _at(days: int, hour: int) -> str:
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (base + timedelta(days=days)).replace(hour=hour).isoformat()


async def scenario(d: Demo) -> None:
    say = log.info
    say("the caucus reports an MP threatened with losing the whip over a statement on arms sales")
    mp = await d.post("scg", "scg", "/v1/attacks", {
        "kind": "disciplinary_threat", "severity": "critical", "tlp": "AMBER", "region": "North West",
        "targets": [{"kind": "mp", "name": "J. Example MP"}],
        "summary": "Whips threaten to withdraw the whip after a statement calling for an end to arms sales",
        "sources": ["Whips' letter of 3 November"],
    })
    say("the movement reports three members suspended for liking a post")
    suspension = await d.post("momentum", "momentum", "/v1/attacks", {
        "kind": "suspension", "severity": "high", "tlp": "GREEN", "region": "London",
        "targets": [{"kind": "member", "name": "A. Member"}, {"kind": "member", "name": "B. Member"},
                    {"kind": "member", "name": "C. Member"}],
        "summary": "Three Camden members suspended for a social-media like of a picket-line photo",
    })
    await d.post("momentum", "momentum", "/v1/attacks", {
        "kind": "longlist_excluded", "severity": "medium", "tlp": "GREEN", "region": "Yorkshire and the Humber",
        "targets": [{"kind": "member", "name": "D. Candidate"}],
        "summary": "Local candidate kept off the longlist without explanation",
    })
    say("the RMT calls a rail strike, with pickets, and asks for solidarity")
    strike = await d.post("rmt", "unions", "/v1/strikes", {
        "employer": "Example Rail Ltd", "sector": "rail", "tlp": "CLEAR", "region": "London",
        "workplaces": ["Euston depot", "Willesden depot", "Camden Road"],
        "starts_on": _at(7, 0)[:10], "ends_on": _at(9, 0)[:10], "members_involved": 4000,
    })
    pickets = [await d.post("rmt", "unions", f"/v1/strikes/{strike}/pickets",
                            {"where": where, "when": _at(7, 6), "needs": "People from 6am, flasks welcome"})
               for where in ("Euston station, main entrance", "Willesden depot gate")]
    await d.post("rmt", "unions", "/v1/solidarity-requests", {
        "help": ["people_on_picket", "strike_fund", "mp_visit"], "tlp": "GREEN", "refs": [strike],
        "summary": "Support the Euston picket and the hardship fund; an MP's visit on day one",
    })
    say("the movement calls picket support: 40 people at Euston")
    action = await d.post("momentum", "momentum", "/v1/actions", {
        "kind": "picket_support", "refs": [strike, pickets[0]], "where": "Euston station",
        "when": _at(7, 6), "asks": "40 people on the picket", "people_wanted": 40, "tlp": "GREEN",
    })
    rally = await d.post("scg", "scg", "/v1/actions", {
        "kind": "rally", "refs": [mp], "where": "Parliament Square", "when": _at(3, 18),
        "asks": "200 people to stand with the MP", "people_wanted": 200, "tlp": "GREEN",
    })
    await d.on_board(action, rally, mp, suspension)
    say("local groups, the caucus and the FBU pledge")
    await d.post("momentum", "momentum", f"/v1/actions/{action}/pledges", {"people": 12, "group": "Momentum Camden"})
    await d.post("momentum", "momentum", f"/v1/actions/{action}/pledges", {"people": 8, "group": "Momentum Hackney"})
    await d.post("scg", "scg", f"/v1/actions/{action}/pledges", {"people": 2, "note": "Two MPs will visit the picket"})
    await d.post("fbu", "unions", f"/v1/actions/{action}/pledges", {"people": 15, "note": "FBU London region"})
    await d.post("momentum", "momentum", f"/v1/actions/{rally}/pledges", {"people": 80, "group": "Momentum London"})
    await d.post("rmt", "unions", f"/v1/actions/{rally}/pledges", {"people": 40, "note": "RMT banner and stewards"})
    say("the forum triages")
    await d.post("forum", "forum", f"/v1/items/{mp}/triage", {"status": "responding", "priority": "urgent"})
    await d.post("forum", "forum", f"/v1/items/{suspension}/triage", {"status": "acknowledged", "priority": "high"})
    say("the suspended members are reinstated: a win")
    await d.post("momentum", "momentum", f"/v1/attacks/{suspension}/resolution",
                 {"outcome": "reinstated", "summary": "All three reinstated after the appeal"})
    await d.post("momentum", "momentum", "/v1/wins", {
        "kind": "reinstatement", "refs": [suspension], "tlp": "CLEAR",
        "summary": "Camden members reinstated after a week of pressure from the whole coalition",
    })
    say("the forum calls a national day of action for the MP, in every constituency")
    day = await d.post("forum", "forum", "/v1/actions", {
        "kind": "lobby", "refs": [mp], "where": "Constituency offices across the country",
        "when": _at(10, 12), "asks": "1,500 people at constituency offices", "people_wanted": 1500,
        "tlp": "GREEN",
    })
    await d.on_board(day)
    d.ids.update(action=action, rally=rally, strike=strike, day=day)


async def pledge_wave(d: Demo, count: int = 600, concurrency: int = 32) -> float:
    """Local groups across the country pledge to the day of action, many at once:
    commands per second."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await d.post("momentum", "momentum", f"/v1/actions/{d.ids['day']}/pledges",
                         {"people": 1 + i % 3, "group": f"Momentum {LOCAL_GROUPS[i % len(LOCAL_GROUPS)]}"})

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.perf_counter() - began)


async def drive(folder: Path, wave: int = 600) -> dict[str, float]:
    endpoints = json.loads((folder / "endpoints.json").read_text())
    keys = json.loads((folder / "secrets.json").read_text())["api_keys"]
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:
        d = Demo(endpoints, keys, client)
        began = time.perf_counter()
        await scenario(d)
        scenario_seconds = time.perf_counter() - began
        rate = await pledge_wave(d, wave) if wave else 0.0
        board = await d.board()
    figures = {"scenario_commands": d.commands - wave, "scenario_seconds": round(scenario_seconds, 3),
               "wave_commands": wave, "wave_commands_per_second": round(rate, 1),
               "board_position": board["position"]}
    return figures


def run_demo(folder: Path, wave: int = 600) -> dict[str, float]:
    log.info("demo: driving the scenario through the HTTP APIs")
    figures = asyncio.run(drive(folder, wave))
    log.info("demo done: %d scenario commands in %.2fs; pledge wave of %d at %.0f commands/s; board at position %d",
             figures["scenario_commands"], figures["scenario_seconds"], figures["wave_commands"],
             figures["wave_commands_per_second"], figures["board_position"])
    print(f"demo: {json.dumps(figures)}", flush=True)
    return figures
