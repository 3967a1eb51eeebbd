"""The forum escalates a high or critical attack nobody acknowledged in time: a background
task of the forum service, exactly once per item however many forum processes run.

Each round reads the candidates off the board (``projections.board.queries``): attacks
of priority high or urgent, still new, older than ``COALITION_ESCALATE_AFTER_MINUTES``.
Each is escalated by an aggregate whose id is derived from the item's
(``services.domain.escalation.Escalation``): a second escalation — after a restart, or
from another forum process at the same moment — is found in the store, or refused by it
as a version conflict, and never reaches the log."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from eventsourcing.persistence import RecordConflictError
from litestar import Litestar

from events.settings import escalate_after_minutes
from projections.board.queries import overdue_attacks
from services.domain.errors import AlreadyEscalated
from services.domain.sharing import Sharing

log = logging.getLogger("coalition.forum.escalation")


def every(after: timedelta) -> float:
    """Seconds between rounds: a tenth of the delay, between 0.2 s and 30 s."""
    return min(30.0, max(0.2, after.total_seconds() / 10))


async def escalate_overdue(app: Litestar, stop: asyncio.Event) -> None:
    """Until ``stop``: escalate every overdue item, once a round."""
    after = timedelta(minutes=escalate_after_minutes())
    while not stop.is_set():
        try:
            await escalation_round(app, after)
        except Exception:  # noqa: BLE001 - the database may be away: try again next round
            log.exception("escalation round failed; trying again")
        try:
            await asyncio.wait_for(stop.wait(), every(after))
        except asyncio.TimeoutError:
            pass


async def escalation_round(app: Litestar, after: timedelta, now: datetime | None = None) -> int:
    """Escalate what is overdue ``now``; how many this process escalated."""
    now = now or datetime.now(UTC)
    async with app.state.pool.connection() as conn:
        candidates = await overdue_attacks(conn, now - after)
    application = app.state.application
    escalated = 0
    for item in candidates:
        sharing = Sharing(tlp=item["tlp"], audience=item["audience"], region=item["region"])
        reason = (f"a {item['priority']}-priority attack not acknowledged within "
                  f"{after.total_seconds() / 60:g} minutes")
        try:
            escalation = await asyncio.to_thread(application.escalate, item["id"], sharing, reason, now)
            await app.state.committer.commit(escalation)
        except (AlreadyEscalated, RecordConflictError):
            continue  # another forum process (or an earlier run) escalated it
        escalated += 1
        log.info("escalated %s (%s)", item["id"], reason)
    return escalated
