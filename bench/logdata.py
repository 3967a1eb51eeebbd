"""A realistic shared log, made fast, for the benchmarks.

Commands go through the real domain: each service's application (``services.momentum``,
``services.scg``, ``services.unions``, ``services.forum``) creates and changes its
aggregates in memory with its pure command methods where it has them, and their domain
events are turned into messages by ``services.relay.relay_message`` — the relay's own
translation — as CloudEvents on ``coalition.<service>.<aggregate>.<event>`` with
``Coalition-Id`` ``<service>:<notification id>``, into ``COALITION`` on each service's
own subjects (``events.stream``). So the shared log
holds exactly what the relays would have published, only without the HTTP and
PostgreSQL round trips.

The mix, by command: attacks reported (15%), some resolved (5%), strikes called (2%),
pickets scheduled on them (4%), solidarity requests (3%), actions called (10%), pledges to
recent actions (40%), first triage of recent items by the forum (15%) and wins (6%).
(Re-triage is left out, see ``LogGenerator.triage``.)
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from msgspec.structs import asdict
from nats.js.errors import APIError, NotFoundError

from contracts.base import Target
from events.migrate import ensure_stream
from events.organisations import DEFAULT_ORGANISATIONS
from events.policy import can_see
from events.publish import Message, OrderedPublisher, event_id
from events.settings import SERVICES, STREAM
from events.stream import connect, subject_filter
from services.application import CampaignApp, ServiceApplication, open_application
from services.commands import (
    CallAction,
    CallStrike,
    MakePledge,
    RecordWin,
    ReportAttack,
    RequestSolidarity,
)
from services.domain.attacks import Attack
from services.domain.industrial import Strike
from services.domain.sharing import Sharing
from services.domain.triage import Triage
from services.forum import ForumApp
from services.momentum import MomentumApp
from services.relay import relay_message
from services.scg import ScgApp
from services.unions import UnionsApp

#: The largest JetStream atomic batch the server accepts by default.
BATCH = 1000
#: Atomic batches (of any service) awaiting their commit acknowledgement while the next ones are sent.
IN_FLIGHT = 4
#: The eventsourcing application the stock-runner benchmark projects from.
SOURCE = "benchsource"

SERVICE_OF = {org.id: org.service for org in DEFAULT_ORGANISATIONS}
ALL_ORGS = tuple(SERVICE_OF)
UNIONS = tuple(org for org, service in SERVICE_OF.items() if service == "unions")
PUBLISHING = ("momentum", "scg", *UNIONS)

REGIONS = (
    "London", "North West", "North East", "Yorkshire and the Humber", "West Midlands",
    "East Midlands", "South West", "South East", "East of England", "Scotland", "Wales",
    "Northern Ireland",
)
LOCAL_GROUPS = (
    "Camden", "Leeds", "Bristol", "Manchester", "Liverpool", "Glasgow", "Cardiff", "Newcastle",
    "Sheffield", "Norwich", "Brighton", "Nottingham", "Hackney", "Lewisham", "Salford", "Swansea",
)
ATTACK_KINDS = ("suspension", "expulsion", "proscription", "whip_removed", "disciplinary_threat",
                "candidate_blocked", "longlist_excluded", "selection_imposed", "body_suspended",
                "media_smear", "other")
TARGET_KINDS = ("member", "member", "member", "mp", "councillor", "constituency_party", "local_group")
SEVERITIES = ("low", "medium", "medium", "medium", "high", "high", "critical")
OUTCOMES = ("reinstated", "overturned", "upheld", "withdrawn", "in_legal_process", "other")
EMPLOYERS = (("Example Rail Ltd", "rail"), ("Northern Buses plc", "bus"), ("City Fire Authority", "fire"),
             ("Bakewell Foods", "food"), ("Harbour Ferries", "maritime"), ("Metro Underground", "rail"))
HELP = ("people_on_picket", "strike_fund", "motions", "mp_visit", "statements", "other")
ACTION_KINDS = ("picket_support", "rally", "lobby", "motion", "phonebank", "statement", "mp_visit", "online")
WIN_KINDS = ("reinstatement", "motion_passed", "selection_won", "pay_rise_won", "strike_won", "other")
STATUSES = ("acknowledged", "responding", "monitoring", "resolved", "closed")
PRIORITIES = ("low", "normal", "normal", "high", "urgent")

#: cumulative share of each command in the mix
MIX = tuple(zip(
    ("pledge", "attack", "triage", "action", "win", "resolve", "picket", "solidarity", "strike"),
    (0.40, 0.55, 0.70, 0.80, 0.86, 0.91, 0.95, 0.98, 1.00),
    strict=True,
))

Entry = tuple[str, Any]
"""(service, domain event)"""


class BenchSourceApp(ServiceApplication):
    """The store the stock ``ProjectionRunner`` projects from: every service's events in
    one application (schema ``benchsource``), as one service's relay would read them."""

    name = SOURCE


class LogGenerator:
    """Commands of the four services, in a plausible order, as domain events."""

    def __init__(self, seed: int = 2025, start: datetime | None = None) -> None:
        self.rng = random.Random(seed)
        # in memory: only their pure command methods are called
        self.unions = UnionsApp()
        self.apps: dict[str, CampaignApp] = {
            "momentum": MomentumApp(), "scg": ScgApp(), "unions": self.unions, "forum": ForumApp()}
        self.clock = start or datetime.now(UTC) - timedelta(days=180)
        self.actions: deque[tuple[str, str, Sharing]] = deque(maxlen=400)  # id, org, sharing
        self.items: deque[tuple[str, Sharing]] = deque(maxlen=4000)  # what the forum triages
        self.open_attacks: list[Attack] = []
        self.strikes: deque[tuple[Strike, list[str]]] = deque(maxlen=100)  # and its workplaces
        self.untriaged: list[tuple[str, Sharing]] = []
        self.counts: Counter[str] = Counter()

    # helpers ---------------------------------------------------------------
    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=self.rng.randint(1, 90))
        return self.clock

    def _app(self, org: str) -> Any:
        """The application of the service ``org`` publishes through."""
        return self.apps[SERVICE_OF[org]]

    def _share(self, org: str, refs: list[str] | None = None) -> dict[str, Any]:
        """A command's sharing fields (``tlp``, ``audience``, ``region``, ``refs``)."""
        r = self.rng.random()
        region = self.rng.choice(REGIONS) if self.rng.random() < 0.8 else None
        if r < 0.2:
            share = Sharing(tlp="CLEAR", region=region, refs=refs or [])
        elif r < 0.85:
            share = Sharing(tlp="GREEN", region=region, refs=refs or [])
        else:
            audience = sorted({org, "forum", *self.rng.sample(ALL_ORGS, 2)})
            share = Sharing(tlp="AMBER", audience=audience, region=region, refs=refs or [])
        return asdict(share)

    def _recent(self, seq: deque | list, scale: float) -> Any:
        """An element near the end: recent items get most of the attention."""
        back = min(len(seq) - 1, int(self.rng.expovariate(1 / scale)))
        return seq[len(seq) - 1 - back]

    def _refs(self) -> list[str]:
        return [self._recent(self.items, 200)[0]] if self.items and self.rng.random() < 0.7 else []

    def _item(self, item: str, share: Sharing) -> None:
        """A new item on the board: something to refer to, and to triage."""
        self.items.append((item, share))
        self.untriaged.append((item, share))
        if len(self.untriaged) > 6000:
            del self.untriaged[:2000]

    def _emit(self, service: str, agg: Any) -> list[Entry]:
        return [(service, e) for e in agg.collect_events()]

    # commands --------------------------------------------------------------
    def attack(self) -> list[Entry]:
        org = self.rng.choice(PUBLISHING)
        n = 1 if self.rng.random() < 0.7 else self.rng.randint(2, 5)
        targets = [Target(kind=self.rng.choice(TARGET_KINDS), name=f"{chr(65 + self.rng.randrange(26))}. Member")
                   for _ in range(n)]
        kind = self.rng.choice(ATTACK_KINDS)
        attack = self._app(org).report_attack(org, ReportAttack(
            attack_kind=kind, targets=targets, severity=self.rng.choice(SEVERITIES),
            summary=f"{kind.replace('_', ' ').capitalize()} of {n} in {self.rng.choice(LOCAL_GROUPS)}, reported by {org}",
            sources=["Letter from the party"] if self.rng.random() < 0.3 else [],
            occurred_at=self._tick(), **self._share(org),
        ))
        self.open_attacks.append(attack)
        if len(self.open_attacks) > 6000:
            del self.open_attacks[:2000]
        self._item(str(attack.id), attack.sharing)
        return self._emit(SERVICE_OF[org], attack)

    def resolve(self) -> list[Entry]:
        if not self.open_attacks:
            return self.attack()
        i = self.rng.randrange(len(self.open_attacks))
        attack = self.open_attacks[i]
        self.open_attacks[i] = self.open_attacks[-1]
        self.open_attacks.pop()
        # PublisherApp.resolve_attack, less the load
        attack.resolve(self.rng.choice(OUTCOMES), "Outcome after the appeal", self._tick())
        return self._emit(SERVICE_OF[attack.org], attack)

    def strike(self) -> list[Entry]:
        org = self.rng.choice(UNIONS)
        employer, sector = self.rng.choice(EMPLOYERS)
        start = (self.clock + timedelta(days=self.rng.randint(7, 30))).date()
        workplaces = [f"{employer.split()[0]} {w}" for w in self.rng.sample(("depot", "works", "station", "yard"), 2)]
        strike = self.unions.call_strike(org, CallStrike(
            employer=employer, sector=sector, workplaces=workplaces,
            starts_on=start, ends_on=start + timedelta(days=self.rng.randint(1, 5)),
            members_involved=self.rng.randint(50, 20000), occurred_at=self._tick(), **self._share(org),
        ))
        self.strikes.append((strike, workplaces))
        self._item(str(strike.id), strike.sharing)
        return self._emit("unions", strike)

    def picket(self) -> list[Entry]:
        if not self.strikes:
            return self.strike()
        strike, workplaces = self._recent(self.strikes, 10)
        when = self.clock + timedelta(days=self.rng.randint(7, 30), hours=self.rng.randint(5, 8))
        # UnionsApp.schedule_picket, less the load
        picket = strike.schedule_picket(f"{self.rng.choice(workplaces)}, main gate", when,
                                        "People from 6am, flasks welcome", self._tick())
        entries = self._emit("unions", strike)
        self._item(picket, entries[-1][1].sharing)
        return entries

    def solidarity(self) -> list[Entry]:
        org = self.rng.choice(UNIONS)
        refs = [str(self._recent(self.strikes, 10)[0].id)] if self.strikes else []
        request = self.unions.request_solidarity(org, RequestSolidarity(
            help=self.rng.sample(HELP, self.rng.randint(1, 3)),
            summary="Support the picket lines and the hardship fund", occurred_at=self._tick(),
            **self._share(org, refs),
        ))
        self._item(str(request.id), request.sharing)
        return self._emit("unions", request)

    def action(self) -> list[Entry]:
        org = self.rng.choice(("momentum", "momentum", "scg", "rmt", "fbu", "forum"))
        people = self.rng.choice((10, 20, 40, 100, 200))
        kind = self.rng.choice(ACTION_KINDS)
        # the head count is people_wanted: nothing reads it out of the asks any more
        action = self._app(org).call_action(org, CallAction(
            action_kind=kind, where=f"{self.rng.choice(LOCAL_GROUPS)} town hall",
            when=self.clock + timedelta(days=self.rng.randint(1, 21), hours=self.rng.randint(8, 19)),
            asks=f"{people} people to {kind.replace('_', ' ')}", people_wanted=people,
            occurred_at=self._tick(), **self._share(org, self._refs()),
        ))
        self.actions.append((str(action.id), org, action.sharing))
        self._item(str(action.id), action.sharing)
        return self._emit(SERVICE_OF[org], action)

    def pledge(self) -> list[Entry]:
        if not self.actions:
            return self.action()
        action_id, publisher, share = self._recent(self.actions, 40)
        org = self.rng.choice(ALL_ORGS)
        if not can_see(org, publisher, share.tlp, share.audience):
            org = publisher
        group = f"{org.capitalize()} {self.rng.choice(LOCAL_GROUPS)}" if org == "momentum" else None
        pledge = self._app(org).pledge(org, action_id, share, MakePledge(
            people=self.rng.randint(1, 15), group=group,
            note="We will be there" if self.rng.random() < 0.3 else None, occurred_at=self._tick(),
        ))
        return self._emit(SERVICE_OF[org], pledge)

    def triage(self) -> list[Entry]:
        """The forum triages an item it has not triaged yet (``Triage.Opened``); second
        triages (``Triage.Triaged``) are left out, so figures stay comparable with the
        first ones measured."""
        if not self.untriaged:
            return self.attack()
        back = min(len(self.untriaged) - 1, int(self.rng.expovariate(1 / 300)))
        i = len(self.untriaged) - 1 - back
        item, share = self.untriaged[i]
        self.untriaged[i] = self.untriaged[-1]
        self.untriaged.pop()
        status, priority = self.rng.choice(STATUSES), self.rng.choice(PRIORITIES)
        note = "Coordinators on it" if self.rng.random() < 0.3 else None
        # ForumApp.triage of an item without a triage record yet, at the generator's time
        record = Triage(item, "forum", status, priority, note, self._tick(), share.passed_on(item))
        return self._emit("forum", record)

    def win(self) -> list[Entry]:
        org = self.rng.choice(ALL_ORGS)
        kind = self.rng.choice(WIN_KINDS)
        win = self._app(org).record_win(org, RecordWin(
            win_kind=kind, summary=f"A {kind.replace('_', ' ')} after weeks of pressure",
            occurred_at=self._tick(), **self._share(org, self._refs()),
        ))
        return self._emit(SERVICE_OF[org], win)

    # the log ---------------------------------------------------------------
    def entries(self, count: int) -> Iterator[Entry]:
        """``count`` domain events, each with the service that stores it."""
        made = 0
        commands = {name: getattr(self, name) for name, _ in MIX}
        while made < count:
            r = self.rng.random()
            name = next(name for name, upto in MIX if r < upto)
            for service, event in commands[name]():
                self.counts[type(event).__qualname__] += 1
                yield service, event
                made += 1
                if made >= count:
                    return

    @property
    def board_items(self) -> int:
        """How many board items the events so far create."""
        c = self.counts
        return (c["Attack.Reported"] + c["Strike.Called"] + c["Strike.PicketScheduled"]
                + c["SolidarityRequest.Requested"] + c["Action.Called"] + c["Win.Recorded"])


async def fill_stream(nats_url: str, count: int, progress: Callable[[int, int], None] | None = None,
                      *, seed: int = 2025, generator: LogGenerator | None = None,
                      timeout: float | None = None) -> int:
    """Publish ``count`` events where the relays put them, each service's on its own
    subjects of ``COALITION``, in JetStream atomic batches of up to 1000 of one service's
    messages (a few in flight at once, across services); wait until ``COALITION`` holds
    every one of them; return its last sequence. ``progress(done, count)`` follows the acknowledged batches.

    Unlike a relay (``events.publish.OrderedPublisher``), a batch is not guarded by an
    expected sequence, so that several can be in flight. Each service's numbering
    continues from its last message on its subjects, so a second fill is not taken for
    duplicates. The shared log then holds each service's events in the order it stored
    them, the services interleaved, as on the live platform; only the interleaving is
    coarser (a batch of one service at a time)."""
    gen = generator or LogGenerator(seed)
    nc = await connect(nats_url, "bench-logdata", persistent=False)
    try:
        js = nc.jetstream(timeout=30)
        await ensure_stream(js)
        nids = {service: (await OrderedPublisher(nc, service).read_position()).notification_id
                for service in SERVICES}
        buffers: dict[str, list[Message]] = {service: [] for service in SERVICES}
        published: set[str] = set()
        pending: deque[asyncio.Task] = deque()
        done = 0

        async def settle(task: asyncio.Task) -> None:
            nonlocal done
            reply, size = await task
            ack = json.loads(reply.data)
            if "error" in ack:
                raise APIError.from_error(ack["error"])
            done += size
            if progress:
                progress(done, count)

        async def send(service: str) -> None:
            """One service's buffered messages as one atomic batch into its stream."""
            batch, buffers[service] = buffers[service], []
            published.add(service)
            batch_id = uuid.uuid4().hex
            for i, msg in enumerate(batch, start=1):
                headers = dict(msg.headers, **{"Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(i)})
                if i < len(batch):
                    await nc.publish(msg.subject, msg.payload, headers=headers)
                    continue
                headers["Nats-Batch-Commit"] = "1"
                commit = nc.request(msg.subject, msg.payload, timeout=30, headers=headers)
                pending.append(asyncio.ensure_future(_sized(commit, len(batch))))
            while len(pending) >= IN_FLIGHT or (pending and pending[0].done()):
                await settle(pending.popleft())

        for service, event in gen.entries(count):
            nids[service] += 1
            buffers[service].append(relay_message(service, nids[service], event))
            if len(buffers[service]) >= BATCH:
                await send(service)
        for service in SERVICES:
            if buffers[service]:
                await send(service)
        while pending:
            await settle(pending.popleft())
        last = {service: nids[service] for service in published}
        return await until_sourced(js, last, 60.0 + count / 10_000 if timeout is None else timeout)
    finally:
        await nc.close()


async def until_sourced(js: Any, last: dict[str, int], timeout: float) -> int:
    """Wait until ``COALITION`` holds, for each service of ``last``, its message with
    notification id ``last[service]`` (each service's batches are stored in its order, so
    all that came before it too); returns ``COALITION``'s last sequence."""
    deadline = time.monotonic() + timeout
    while True:
        behind = {}
        for service, nid in last.items():
            try:
                msg = await js.get_last_msg(STREAM, subject_filter(service))
            except NotFoundError:
                behind[service] = 0
                continue
            _, _, got = event_id(msg.headers).partition(":")
            if not got.isdigit() or int(got) < nid:
                behind[service] = int(got) if got.isdigit() else 0
        if not behind:
            return int((await js.stream_info(STREAM)).state.last_seq)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{STREAM} does not hold everything after {timeout:.0f}s: " + ", ".join(
                f"{s} sent up to {last[s]}, {STREAM} holds up to {got}" for s, got in behind.items()))
        await asyncio.sleep(0.02)


async def _sized(commit: Any, size: int) -> tuple[Any, int]:
    """A batch's commit reply, with how many messages it commits."""
    return await commit, size


def fill_store(database_url: str, count: int, *, seed: int = 2025, chunk: int = 1000) -> BenchSourceApp:
    """Save ``count`` events of the same mix into a real eventsourcing application store
    (table ``benchsource_events`` in schema ``benchsource``), ``chunk`` events per
    transaction; returns the application (its recorder's max notification id is the last
    event, its ``generator`` what was saved)."""
    app = open_application(BenchSourceApp, database_url)
    gen = LogGenerator(seed)
    events: list[Any] = []
    for _, event in gen.entries(count):
        events.append(event)
        if len(events) >= chunk:
            app.save(*events)
            events = []
    if events:
        app.save(*events)
    app.generator = gen  # type: ignore[attr-defined] - its counts describe what was saved
    return app
