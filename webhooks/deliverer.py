"""Deliver the shared log to the partners' webhook endpoints, following Standard Webhooks.

One worker per active endpoint walks the log from the endpoint's position: an event the
partner's policy grants it (``events.sharing.entitled``) and its filter wants is POSTed
as the structured CloudEvent, exactly the bytes on the log, signed with the endpoint's
secret(s) (``events.signing``). The next event waits until this one is delivered, so an
endpoint receives its events in log order:

* ``2xx`` — delivered; the position moves on (recorded in PostgreSQL a few times a second,
  in one transaction for every endpoint; a crash in between may send the last few again,
  with the same ``webhook-id``, which receivers use to drop a repeat, as the spec says);
* ``410 Gone`` — the endpoint is disabled (a redelivery enables it again);
* ``429`` / ``503`` with ``Retry-After`` — tried again after that long;
* anything else (another status, a refused connection, no answer within the timeout, a
  redirect) — tried again on the schedule (``COALITION_WEBHOOK_RETRY_SCHEDULE``, with
  jitter). Once the schedule is used up the event is listed among the endpoint's failures,
  and the endpoint goes on trying at the schedule's last interval, forever: whenever it
  comes back, it receives everything from its position on.

Attempts and the time of the next one are written before waiting, so a restarted
deliverer resumes each endpoint's schedule where it was. Before each connection the
target's addresses are checked (``events.targets``) by the HTTP client's resolver.

Each walk follows its partner's changes on the log in log order (``events.partnership``
says what each does): at a revocation the endpoint stops (its state shows ``revoked_at``)
and waits, sending nothing, for the partner to be added or replayed again; then it
resumes where the rule says. The change and the position it leaves are written at once,
before anything more is sent, so a restarted deliverer goes on from the same standing.

Every worker reads from one :class:`webhooks.tail.Tail`; idle, the deliverer waits on
PostgreSQL notifications (the endpoints' own, and the board's for a new position).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import psycopg
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from nats.aio.client import Client as NATS

from contracts.envelope import CONTENT_TYPE
from events import endpoints as store
from events.endpoints import State
from events.partnership import Walk, follow, start
from events.sharing import Partner, all_people, entitled
from events.signing import headers as signed
from events.targets import Network, TargetRefused, check_addresses
from webhooks.schedule import delay, retry_after
from webhooks.tail import Entry, Tail

log = logging.getLogger("coalition.webhooks")

#: How often delivered positions are written (seconds), and endpoints looked up again
#: besides the notifications.
FLUSH_EVERY = 0.2
RELOAD_EVERY = 5.0
#: The board projection's notification of each position it commits
#: (``projections.board.projector``): a new position on the log, so the tail looks now.
BOARD_CHANNEL = "board"


class CheckedResolver(AbstractResolver):
    """The default resolver, refusing a host any of whose addresses is not allowed."""

    def __init__(self, allowed: tuple[Network, ...]) -> None:
        self.allowed = allowed
        self.inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        check_addresses(host, [r["host"] for r in found], self.allowed)
        return found

    async def close(self) -> None:
        await self.inner.close()


class Outcome:
    """What one attempt came to."""

    def __init__(self, status: int | None, error: str, wait: float | None = None) -> None:
        self.status = status
        self.error = error
        self.wait = wait

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Deliverer:
    def __init__(self, database_url: str, nc: NATS, partners: tuple[Partner, ...], *,
                 schedule: tuple[float, ...], jitter: float, timeout: float, allowed: tuple[Network, ...],
                 rng: random.Random | None = None) -> None:
        self.database_url = database_url
        self.nc = nc
        self.partners = {p.org: p for p in partners}
        self.people = all_people(partners)
        self.schedule = schedule
        self.jitter = jitter
        self.timeout = timeout
        self.allowed = allowed
        self.rng = rng or random.Random()
        self.tail = Tail(nc)
        self.workers: dict[str, tuple[State, asyncio.Task[None]]] = {}
        self.secrets: dict[str, list[str]] = {}
        """Each endpoint's valid secrets as last read: a rotation takes effect without
        stopping its worker (which might send an event in flight a second time)."""
        self.delivered: dict[tuple[str, int], int] = {}
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self.http: aiohttp.ClientSession | None = None

    # --- the process ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._conn = await psycopg.AsyncConnection.connect(self.database_url, autocommit=True)
        connector = aiohttp.TCPConnector(resolver=CheckedResolver(self.allowed), limit=0, limit_per_host=0,
                                         ttl_dns_cache=None, use_dns_cache=False)
        self.http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout))
        await self.tail.start()
        tasks = [asyncio.create_task(self.tail.run(stop), name="webhooks-tail"),
                 asyncio.create_task(self._listen(), name="webhooks-listen"),
                 asyncio.create_task(self._flush_often(stop), name="webhooks-flush")]
        log.info("webhook deliverer ready at position %d", self.tail.end)
        try:
            while not stop.is_set():
                await self._reconcile()
                self._changed.clear()
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._changed.wait())]
                await asyncio.wait(waits, timeout=RELOAD_EVERY, return_when=asyncio.FIRST_COMPLETED)
                for w in waits:
                    w.cancel()
        finally:
            for _, task in self.workers.values():
                task.cancel()
            await asyncio.gather(*(t for _, t in self.workers.values()), return_exceptions=True)
            await self._flush()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.http.close()
            await self._conn.close()

    async def _reconcile(self) -> None:
        """A worker for every active endpoint as it now is; none for the others."""
        try:
            async with self._lock:
                await self._flush_locked()
                assert self._conn is not None
                wanted = {s.id: s for s in await store.active(self._conn)}
        except psycopg.Error as exc:
            log.warning("cannot read the endpoints (%s); trying again", exc)
            await self._reconnect()
            return
        for endpoint_id, (state, task) in list(self.workers.items()):
            now = wanted.get(endpoint_id)
            if now is None:
                self.secrets.pop(endpoint_id, None)
            else:
                self.secrets[endpoint_id] = now.secrets
            if task.done() or now is None or now.generation != state.generation or now.url != state.url:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                del self.workers[endpoint_id]
        for endpoint_id, state in wanted.items():
            self.secrets[endpoint_id] = state.secrets
            if endpoint_id not in self.workers:
                self.workers[endpoint_id] = (state, asyncio.create_task(self._worker(state), name=endpoint_id))

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.database_url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {store.CHANNEL}")
                    await conn.execute(f"LISTEN {BOARD_CHANNEL}")
                    self._changed.set()
                    async for note in conn.notifies():
                        if note.channel == BOARD_CHANNEL:
                            if note.payload.isdigit():
                                self.tail.nudge(int(note.payload))
                        else:
                            self._changed.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - PostgreSQL restarting: listen again
                log.exception("lost the endpoints' notifications; listening again")
                await asyncio.sleep(1.0)

    async def _reconnect(self) -> None:
        await asyncio.sleep(1.0)
        try:
            if self._conn is not None:
                await self._conn.close()
            self._conn = await psycopg.AsyncConnection.connect(self.database_url, autocommit=True)
        except psycopg.Error as exc:
            log.warning("PostgreSQL still away (%s)", exc)

    async def _write(self, what: str, *args: Any) -> None:
        """One of ``events.endpoints``'s writes, on the deliverer's connection; retried
        until PostgreSQL takes it (a position must never be forgotten)."""
        while True:
            try:
                async with self._lock:
                    await self._flush_locked()
                    assert self._conn is not None
                    await getattr(store, what)(self._conn, *args)
                return
            except psycopg.Error as exc:
                log.warning("%s not recorded (%s); retrying", what, exc)
                await self._reconnect()

    async def _flush_often(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(FLUSH_EVERY)
            try:
                await self._flush()
            except psycopg.Error as exc:
                log.warning("positions not recorded (%s); retrying", exc)
                await self._reconnect()

    async def _flush(self) -> None:
        async with self._lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        if self.delivered and self._conn is not None:
            positions, self.delivered = self.delivered, {}
            try:
                await store.moved(self._conn, positions)
            except BaseException:
                for key, position in positions.items():
                    self.delivered[key] = max(position, self.delivered.get(key, 0))
                raise

    # --- one endpoint -----------------------------------------------------------------------

    def wanted(self, state: State, partner: Partner, entry: Entry) -> bool:
        event = entry.event
        if event is None or (state.types and event.type not in state.types):
            return False
        return entitled(partner, event.tlp, event.data.audience, self.people)

    async def _worker(self, state: State) -> None:
        try:
            await self._walk(state)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - started again by the next reconciliation
            log.exception("%s: worker stopped; it starts again from its recorded position", state.id)
            await asyncio.sleep(1.0)
            self._changed.set()

    async def _walk(self, state: State) -> None:
        partner = self.partners.get(state.org)
        if partner is None:
            await self._write("disable", state, state.position, f"{state.org} is not a partner in the sharing policy")
            return
        attempts, next_attempt = state.attempts, state.next_attempt
        key = (state.id, state.generation)
        walk = Walk(position=state.position, revoked_at=state.revoked_at, applied=state.partnership)
        while self.tail.end < walk.position:  # registered ahead of this tail: its changes first
            await self.tail.moved()
        history = self.tail.partnerships.history
        folded = start(walk, history.of(state.org, walk.position))
        if folded != walk:
            walk = await self._follow(state, walk, folded)
        while True:
            if not walk.receiving:
                change = history.next_after(state.org, walk.applied)
                if change is None:
                    await self.tail.moved(RELOAD_EVERY)
                    continue
                walk = await self._follow(state, walk, follow(walk, change))
                attempts, next_attempt = 0, None
                continue
            page = await self.tail.after(walk.position)
            change = history.next_after(state.org, walk.applied)
            for entry in page:
                if change is not None and entry.position >= change.position:
                    then = walk
                    walk = await self._follow(state, walk, follow(walk, change))
                    change = history.next_after(state.org, walk.applied)
                    if not walk.receiving or walk.position != then.position:
                        attempts, next_attempt = 0, None
                        break  # stopped, or sent elsewhere on the log: read from there
                if not self.wanted(state, partner, entry) or history.is_revocation(state.org, entry.position):
                    walk = Walk(entry.position, walk.revoked_at, walk.applied)
                    continue
                if not await self._deliver(state, entry, walk.position, attempts, next_attempt):
                    return  # disabled
                attempts, next_attempt = 0, None
                walk = Walk(entry.position, walk.revoked_at, walk.applied)
                self.delivered[key] = walk.position
            else:
                if page and self.delivered.get(key) != walk.position:
                    self.delivered[key] = walk.position  # passed over events the partner does not get

    async def _follow(self, state: State, before: Walk, after: Walk) -> Walk:
        """Record the endpoint's new standing towards its partner (from ``before``), before
        anything more is sent."""
        if after.revoked_at is not None and before.revoked_at is None:
            log.info("%s: %s revoked at log position %d: deliveries stop there", state.id, state.org,
                     after.revoked_at)
        elif after.revoked_at is None and before.revoked_at is not None:
            log.info("%s: %s receives again (change at %d): from position %d", state.id, state.org, after.applied,
                     after.position)
        await self._write("partnership", state, after.position, after.revoked_at, after.applied)
        return after

    async def _deliver(self, state: State, entry: Entry, position: int, attempts: int,
                       next_attempt: datetime | None) -> bool:
        """Deliver ``entry`` (after ``position``), retrying until it is delivered; False if
        the endpoint was disabled instead."""
        assert entry.event is not None
        recorded = attempts >= len(self.schedule)
        while True:
            if next_attempt is not None:
                wait = (next_attempt - datetime.now(UTC)).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
            outcome = await self.attempt(state, entry)
            if outcome.delivered:
                return True
            if outcome.status == 410:
                log.warning("%s answered 410 Gone: disabled", state.id)
                await self._write("disable", state, position, "410 Gone: the endpoint asked for no more")
                return False
            attempts += 1
            wait = outcome.wait if outcome.wait is not None else delay(attempts, self.schedule, self.jitter, self.rng)
            next_attempt = datetime.now(UTC) + timedelta(seconds=wait)
            log.info("%s: attempt %d at position %d failed (%s); next in %.1fs", state.id, attempts,
                     entry.position, outcome.error, wait)
            await self._write("attempt_failed", state, position, attempts, next_attempt, outcome.error)
            if attempts >= len(self.schedule) and not recorded:
                recorded = True
                await self._write("delivery_failed", state, entry.position, entry.event.id, entry.event.type,
                                  attempts, outcome.error)

    async def attempt(self, state: State, entry: Entry) -> Outcome:
        """One POST of ``entry`` to the endpoint."""
        assert self.http is not None and entry.event is not None
        body = entry.raw
        head = signed(self.secrets.get(state.id, state.secrets), entry.event.id, int(time.time()), body)
        head["content-type"] = CONTENT_TYPE
        try:
            async with self.http.post(state.url, data=body, headers=head, allow_redirects=False) as resp:
                await resp.read()
                status = resp.status
                wait = retry_after(resp.headers.get("Retry-After")) if status in (429, 503) else None
                return Outcome(status, f"HTTP {status}", wait)
        except TargetRefused as exc:
            return Outcome(None, str(exc))
        except aiohttp.ClientConnectorError as exc:
            cause = exc.os_error
            if isinstance(cause, TargetRefused):
                return Outcome(None, str(cause))
            return Outcome(None, f"cannot connect: {cause}")
        except asyncio.TimeoutError:
            return Outcome(None, f"no answer within {self.timeout:g}s")
        except aiohttp.ClientError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}")
