"""The demo: a week of coalition coordination, driven through the public HTTP APIs.

An MP is threatened over a statement; members are suspended; the RMT calls a rail
strike with pickets and asks for solidarity; the movement calls picket support and
local groups pledge people. Then the forum's coordinators run the response as people do
on the board — logged in with their accounts (``secrets.json``), through the forum's
workflow forms with their session and CSRF token, so every change is attributed to a
person: they acknowledge and prioritise, name a lead, open responses, assign tasks and
mark them done, resolve, decide (one consent decision blocked, one agreed), and review
the response once a reinstatement is won. Then a wave of pledges from local groups shows
how many commands a second the platform takes.

Every command carries an ``Idempotency-Key``: a retry after a lost connection or a 503
is answered as the first, never recorded twice.
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

from events.organisations import load_coordinators

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
        headers = {"Authorization": f"Bearer {self.keys[org]}"}
        _, answer = await send(self.client, f"{self.endpoints[service]}{path}", headers, json=body)
        self.commands += 1
        return str(answer["id"])

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


async def send(client: aiohttp.ClientSession, url: str, headers: dict[str, str], *,
               expect: tuple[int, ...] = (201,), **body: Any) -> tuple[int, dict[str, Any]]:
    """POST a command with an ``Idempotency-Key`` of its own, kept across retries (a 503,
    a lost connection): the status (one of ``expect``) and the JSON answer."""
    headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    for attempt in range(3):
        try:
            async with client.post(url, headers=headers, allow_redirects=False, **body) as resp:
                if resp.status == 503 and attempt < 2:
                    await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))
                    continue
                if resp.status not in expect:
                    raise RuntimeError(f"POST {url} → {resp.status}: {await resp.text()}")
                return resp.status, dict(await resp.json())
        except aiohttp.ClientConnectionError:
            if attempt == 2:
                raise
            await asyncio.sleep(0.5)
    raise RuntimeError(f"POST {url}: no answer")


def say(line: str) -> None:
    """A progress line for whoever watches ``coalition up --demo``."""
    log.debug("%s", line)
    print(f"demo - {line}", flush=True)


@dataclass
class Coordinator:
    """A person of the forum acting on the board: logged in with their account (a session
    cookie), each command a workflow form posted with the CSRF token, answered in JSON, and
    on the log with their name and organisation. Without an account that can log in, the
    forum's key on the same commands' JSON API (``/v1``) stands in: the forum acts, no person."""

    demo: Demo
    org: str
    name: str
    client: aiohttp.ClientSession | None = None
    csrf: str = ""

    @property
    def forum(self) -> str:
        return self.demo.endpoints["forum"]

    async def log_in(self, username: str, password: str) -> bool:
        """Start a session as ``username``; False if the account does not log in (a changed password)."""
        jar = aiohttp.CookieJar(unsafe=True)  # the forum is on an IP address
        client = aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=30))
        async with client.get(f"{self.forum}/login") as resp:
            await resp.read()
        csrf = next((c.value for c in jar if c.key == "coalition_csrf"), "")
        form = {"username": username, "password": password, "next": "/", "_csrf_token": csrf}
        async with client.post(f"{self.forum}/login", data=form, allow_redirects=False) as resp:
            if resp.status != 303:
                await client.close()
                return False
        self.client, self.csrf = client, next((c.value for c in jar if c.key == "coalition_csrf"), csrf)
        return True

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    async def act(self, path: str, fields: dict[str, Any], expect: tuple[int, ...] = (201,)) -> tuple[int, str]:
        """One workflow command (``path`` below ``/forms`` and ``/v1``): its status and the id it answers."""
        if self.client is None:
            headers = {"Authorization": f"Bearer {self.demo.keys['forum']}"}
            status, answer = await send(self.demo.client, f"{self.forum}/v1{path}", headers, expect=expect,
                                        json=fields)
        else:
            form = [(name, str(v)) for name, value in fields.items()
                    for v in (value if isinstance(value, list) else [value])]
            headers = {"X-CSRFToken": self.csrf, "Accept": "application/json"}
            status, answer = await send(self.client, f"{self.forum}/forms{path}", headers, expect=expect, data=form)
        if status == 201:
            self.demo.commands += 1
        return status, str(answer.get("id", answer.get("detail", "")))


async def coordinators(d: Demo, folder: Path) -> dict[str, Coordinator]:
    """Per organisation, its first coordinator (not an observer) who can log in with the
    password ``secrets.json`` keeps; the forum's key stands in for a forum without one."""
    passwords = json.loads((folder / "secrets.json").read_text()).get("coordinators", {})
    people: dict[str, Coordinator] = {}
    for account in load_coordinators(folder):
        if account.role != "coordinator" or account.organisation in people or account.username not in passwords:
            continue
        person = Coordinator(d, account.organisation, account.name)
        if await person.log_in(account.username, passwords[account.username]):
            people[account.organisation] = person
        else:
            say(f"{account.username} cannot log in with the first password (changed?): left out")
    if "forum" not in people:
        say("no forum coordinator can log in: the forum's key runs the workflow")
        people["forum"] = Coordinator(d, "forum", "the forum (API key)")
    return people


def _at(days: int, hour: int) -> str:
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (base + timedelta(days=days)).replace(hour=hour).isoformat()


async def scenario(d: Demo, people: dict[str, Coordinator]) -> None:
    """What the partners publish, then the forum's coordinators' response (:func:`respond`)."""
    say("the caucus reports an MP threatened with losing the whip over a statement on arms sales")
    mp = await d.post("scg", "scg", "/v1/attacks", {
        "kind": "disciplinary_threat", "severity": "critical", "tlp": "AMBER", "region": "North West",
        "targets": [{"kind": "mp", "name": "J. Example MP"}],
        "summary": "Whips threaten to withdraw the whip after a statement calling for an end to arms sales",
        "sources": ["Whips' letter of 3 November"],
    })
    say("the movement reports three members suspended for liking a post (their names stay in its casework)")
    suspension = await d.post("momentum", "momentum", "/v1/attacks", {
        "kind": "suspension", "severity": "high", "tlp": "GREEN", "region": "London",
        "targets": [{"kind": "member"}, {"kind": "member"}, {"kind": "member"}],
        "summary": "Three Camden members suspended for a social-media like of a picket-line photo",
    })
    await casework_opened(d, suspension)
    longlist = await d.post("momentum", "momentum", "/v1/attacks", {
        "kind": "longlist_excluded", "severity": "medium", "tlp": "GREEN", "region": "Yorkshire and The Humber",
        "targets": [{"kind": "member", "name": "D. Candidate"}],
        "summary": "Local candidate kept off the longlist without explanation",
    })
    say("the RMT declares a dispute and ballots: 65 % turnout, 57.5 % of all members voting yes")
    dispute = await d.post("rmt", "unions", "/v1/disputes", {
        "employer": "Example Rail Ltd", "sector": "rail", "tlp": "CLEAR", "region": "London",
        "issues": "Pay, and safety-critical posts cut at Euston and Willesden"})
    await d.post("rmt", "unions", "/v1/ballots", {
        "employer": "Example Rail Ltd", "eligible": 4000, "votes_cast": 2600, "yes_votes": 2300,
        "important_public_service": True, "refs": [dispute], "tlp": "CLEAR", "region": "London"})
    say("the RMT calls a rail strike, with pickets, and asks for solidarity")
    strike = await d.post("rmt", "unions", "/v1/strikes", {"refs": [dispute],
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
    await d.on_board(action, rally, mp, suspension, longlist, strike)
    say("local groups, the caucus and the FBU pledge")
    camden = await d.post("momentum", "momentum", "/v1/groups", {"name": "Momentum Camden", "region": "London"})
    hackney = await d.post("momentum", "momentum", "/v1/groups", {"name": "Momentum Hackney", "region": "London"})
    await d.post("momentum", "momentum", f"/v1/actions/{action}/pledges", {"people": 12, "group_id": camden})
    await d.post("momentum", "momentum", f"/v1/actions/{action}/pledges", {"people": 8, "group_id": hackney})
    await d.post("scg", "scg", f"/v1/actions/{action}/pledges", {"people": 2, "note": "Two MPs will visit the picket"})
    await d.post("fbu", "unions", f"/v1/actions/{action}/pledges", {"people": 15, "note": "FBU London region"})
    await d.post("momentum", "momentum", f"/v1/actions/{rally}/pledges", {"people": 80, "group": "Momentum London"})
    await d.post("rmt", "unions", f"/v1/actions/{rally}/pledges", {"people": 40, "note": "RMT banner and stewards"})
    d.ids.update(mp=mp, suspension=suspension, longlist=longlist, strike=strike, action=action, rally=rally,
                 camden=camden, dispute=dispute)
    await organisations_at_work(d, pickets[0])
    await respond(d, people)
    await d.on_board(d.ids["day"])


#: The suspended members, whose names only the movement's casework holds.
MEMBERS = ("Aisha Demo-Casework", "Bryn Demo-Casework", "Carys Demo-Casework")


async def casework_opened(d: Demo, suspension: str) -> None:
    """The movement's legal and pastoral support unit takes the three members' cases: their
    names and the notes stay in the movement's own service (read by the caseworkers named);
    the board learns only that the attack has support, and at which stage."""
    cases = []
    for member in MEMBERS:
        case = await d.post("momentum", "momentum", "/v1/cases", {
            "attack": suspension, "member": member, "caseworkers": ["momentum-coordinator"],
            "note": f"{member} called the unit the day the letter came"})
        await d.post("momentum", "momentum", f"/v1/cases/{case}/referrals",
                     {"referral": "appeal_drafting", "note": "Appeal to the NEC panel"})
        await d.post("momentum", "momentum", f"/v1/cases/{case}/steps",
                     {"note": f"Appeal for {member} drafted and lodged"})
        cases.append(case)
    d.ids["cases"] = " ".join(cases)


async def organisations_at_work(d: Demo, picket: str) -> None:
    """Each organisation's own work around the response: an MP's visit to the picket, a
    local group's motion, another organisation corroborating the attack, turnout."""
    say("the RMT asks for an MP at the Euston picket on day one; the caucus confirms J. Example MP")
    visit = await d.post("rmt", "unions", "/v1/visits", {
        "serves": picket, "where": "Euston station, main entrance", "when": _at(7, 7),
        "note": "Day one: the picket needs a lift"})
    await d.post("scg", "scg", f"/v1/visits/{visit}/confirmation", {"mp": "J. Example MP", "when": _at(7, 7)})
    d.ids["visit"] = visit
    say("Momentum Camden's constituency party passes a motion for the members' reinstatement")
    d.ids["motion"] = await d.post("momentum", "momentum", "/v1/motions", {
        "title": "Reinstate our members", "text": "This CLP calls for the immediate reinstatement of the three "
        "members suspended for a like.", "body": "Holborn and St Pancras CLP", "group": d.ids["camden"],
        "refs": [d.ids["suspension"]], "outcome": "passed", "region": "London", "tlp": "GREEN"})
    await d.post("rmt", "unions", f"/v1/attacks/{d.ids['suspension']}/corroborations",
                 {"evidence": "Two of the three are RMT members at Euston; we have the letters"})
    say("last night's Camden vigil for the suspended members: 60 asked, 45 pledged, 52 turned out")
    vigil = await d.post("momentum", "momentum", "/v1/actions", {
        "kind": "rally", "refs": [d.ids["suspension"]], "where": "Camden Town Hall", "when": _at(-1, 18),
        "asks": "60 people at the vigil", "people_wanted": 60, "tlp": "GREEN", "region": "London",
        "groups": [d.ids["camden"]]})
    await d.post("momentum", "momentum", f"/v1/actions/{vigil}/pledges", {"people": 45, "group_id": d.ids["camden"]})
    d.ids["vigil"] = vigil
    await d.post("momentum", "momentum", f"/v1/actions/{vigil}/completion",
                 {"turnout": 52, "outcome": "Candles on the Town Hall steps; the local paper came"})


async def respond(d: Demo, people: dict[str, Coordinator]) -> None:
    """The forum's coordinators run the response from the board's workflow: triage, a lead
    and a response with tasks, tasks done, a resolution, two consent decisions (one blocked,
    one agreed), the win, and the review."""
    duty = people["forum"]
    mp, suspension, longlist, strike = (d.ids[k] for k in ("mp", "suspension", "longlist", "strike"))
    who = f"{duty.name} ({duty.org})"

    say(f"{who} acknowledges the threat to the MP, makes it urgent and asks the caucus to lead")
    await duty.act(f"/items/{mp}/acknowledge", {"note": "Seen: calling the MP's office now"})
    await duty.act(f"/items/{mp}/priority", {"priority": "urgent", "note": "Whip vote expected within days"})
    await duty.act(f"/items/{mp}/lead", {"lead_org": "scg", "note": "The caucus knows the whips"})

    say(f"{who} acknowledges the suspensions and opens the response, led by the movement")
    await duty.act(f"/items/{suspension}/acknowledge", {"note": "On it: the Camden branch is calling the members"})
    await duty.act(f"/items/{suspension}/priority", {"priority": "urgent"})
    await duty.act(f"/items/{suspension}/response", {
        "lead_org": "momentum", "plan": "Legal support for the appeals; a letter from MPs to the General "
                                        "Secretary; a lobby of the regional office on Friday"})
    tasks = {}
    for assignee, task, days in (("momentum", "Draft the three appeals with the members", 2),
                                 ("scg", "Letter from twenty MPs to the General Secretary", 1),
                                 ("fbu", "FBU London region statement of support", 1)):
        _, tasks[assignee] = await duty.act(f"/items/{suspension}/tasks",
                                            {"assignee": assignee, "task": task, "due": _at(days, 17)})
    say("tasks for the movement, the caucus and the FBU: the movement and the FBU mark theirs done, "
        "the duty coordinator the caucus's letter")
    await (people.get("momentum") or duty).act(f"/tasks/{tasks['momentum']}/done",
                                               {"note": "Appeals lodged on Tuesday"})
    await duty.act(f"/tasks/{tasks['scg']}/done", {"note": "Sent with 23 signatures"})
    await (people.get("fbu") or duty).act(f"/tasks/{tasks['fbu']}/done", {"note": "Published on the FBU site"})

    say(f"{who} opens the response to the strike: tasks left open, due on the first strike day")
    await duty.act(f"/items/{strike}/acknowledge", {"note": "Solidarity request seen"})
    await duty.act(f"/items/{strike}/response", {"lead_org": "rmt", "plan": "A picket rota for every gate, "
                                                                            "the hardship fund, MPs on day one"})
    await duty.act(f"/items/{strike}/tasks", {"assignee": "momentum", "task": "40 people at Euston from 6am",
                                              "due": _at(7, 6)})
    await duty.act(f"/items/{strike}/tasks", {"assignee": "fbu", "task": "Collections for the hardship fund "
                                                                         "at FBU branches", "due": _at(6, 18)})

    say(f"{who} resolves the longlist exclusion: the local party put the candidate back")
    await duty.act(f"/items/{longlist}/acknowledge", {})
    await duty.act(f"/items/{longlist}/resolve", {"note": "Candidate added to the longlist after a local appeal"})

    await decide(d, people)

    say("the suspended members are reinstated: a win, and their cases closed")
    for case in d.ids["cases"].split():
        await d.post("momentum", "momentum", f"/v1/cases/{case}/outcome",
                     {"outcome": "reinstated", "note": "Reinstated in full; apology from the regional office"})
    await d.post("momentum", "momentum", f"/v1/attacks/{suspension}/resolution",
                 {"outcome": "reinstated", "summary": "All three reinstated after the appeal"})
    await d.post("momentum", "momentum", "/v1/wins", {
        "kind": "reinstatement", "refs": [suspension], "tlp": "CLEAR", "groups": [d.ids["camden"]],
        "summary": "Camden members reinstated after a week of pressure from the whole coalition",
    })
    say(f"{who} records the review of the response to the suspensions")
    await duty.act(f"/items/{suspension}/review", {
        "worked": "Appeals lodged within two days; the MPs' letter; every organisation on one plan",
        "did_not": "Nobody had the members' phone numbers on the first day"})


async def decide(d: Demo, people: dict[str, Coordinator]) -> None:
    """Two consent decisions: a block stops the first (its outcome refused, it stays open);
    every organisation agrees to the second, which is decided and acted on."""
    duty = people["forum"]
    evidence = [d.ids["suspension"], d.ids["strike"]]
    say("the forum proposes holding the day of action on the first strike day (consent)")
    _, first = await duty.act("/decisions", {
        "question": "Hold the national day of action on the first day of the rail strike?",
        "method": "consent", "options": ["yes", "no"], "refs": evidence, "review_on": _at(5, 0)[:10]})
    for org, person in people.items():
        blocks = org == "rmt"
        await person.act(f"/decisions/{first}/positions", {
            "position": "block" if blocks else "agree",
            "reason": "Our members are on the picket lines that day: hold it after the strike" if blocks
            else "One day, one message"})
    if "rmt" in people:
        status, detail = await duty.act(f"/decisions/{first}/outcome",
                                        {"outcome": "yes", "rationale": "Most organisations agree"}, expect=(409,))
        say(f"the RMT blocks it: the forum's outcome is refused ({status}: {detail}); the proposal stays open")
    say("the forum proposes the day of action after the strike instead (consent); everyone agrees")
    _, second = await duty.act("/decisions", {
        "question": f"Hold the national day of action on {_at(10, 12)[:10]}, after the strike?",
        "method": "consent", "options": ["yes", "no"], "refs": evidence})
    for org, person in people.items():
        await person.act(f"/decisions/{second}/positions", {"position": "agree"})
    await duty.act(f"/decisions/{second}/outcome", {
        "outcome": "yes", "rationale": "Every organisation agreed; the RMT's block on the first date is met"})
    d.ids.update(blocked=first, agreed=second)
    say("the forum calls the national day of action for the MP, in every constituency")
    d.ids["day"] = await d.post("forum", "forum", "/v1/actions", {
        "kind": "lobby", "refs": [d.ids["mp"]], "where": "Constituency offices across the country",
        "when": _at(10, 12), "asks": "1,500 people at constituency offices", "people_wanted": 1500,
        "tlp": "GREEN",
    })


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


async def drive(folder: Path, wave: int = 600, ids: dict[str, str] | None = None) -> dict[str, float]:
    """The scenario, then a pledge wave of ``wave`` commands: the figures; ``ids`` (if given)
    receives the ids of what the scenario created, by name."""
    endpoints = json.loads((folder / "endpoints.json").read_text())
    keys = json.loads((folder / "secrets.json").read_text())["api_keys"]
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:
        d = Demo(endpoints, keys, client)
        began = time.perf_counter()
        people = await coordinators(d, folder)
        try:
            await scenario(d, people)
        finally:
            for person in people.values():
                await person.close()
            if ids is not None:
                ids.update(d.ids)
        scenario_seconds = time.perf_counter() - began
        rate = await pledge_wave(d, wave) if wave else 0.0
        board = await d.board()
    figures = {"scenario_commands": d.commands - wave, "scenario_seconds": round(scenario_seconds, 3),
               "wave_commands": wave, "wave_commands_per_second": round(rate, 1),
               "board_position": board["position"]}
    return figures


def run_demo(folder: Path, wave: int = 600) -> dict[str, float]:
    say("driving the scenario through the HTTP APIs")
    figures = asyncio.run(drive(folder, wave))
    log.info("demo done: %d scenario commands in %.2fs; pledge wave of %d at %.0f commands/s; board at position %d",
             figures["scenario_commands"], figures["scenario_seconds"], figures["wave_commands"],
             figures["wave_commands_per_second"], figures["board_position"])
    print(f"demo: {json.dumps(figures)}", flush=True)
    return figures
