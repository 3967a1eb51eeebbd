"""Where the pressure is this week: open attacks and strikes per UK nation and English
region, as the forum's region map and ``GET /api/regions`` show them.

An item counts when it is an attack or a strike, not resolved or closed, and active this
week: reported or changed within the last seven days, or (a strike) with a strike day in
them. Its region is read through the vocabulary (``contracts.regions``): events written
before it may say "Leeds" or "the north", which count as ``unknown`` rather than being
dropped or breaking the count; items without a region count as ``no_region``. Each reader
counts only what their organisation may see (``events.policy``), like the board itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import msgspec
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from contracts.regions import REGIONS, canonical
from events.policy import can_see
from projections.board.schema import POSITION

#: How far back "this week" reaches.
WEEK = timedelta(days=7)
#: The kinds of item the map counts, and the states that no longer count.
COUNTED = ("attack", "strike")
FINISHED = ("resolved", "closed")


class Tally(msgspec.Struct, kw_only=True):
    """Open attacks and strikes active this week."""

    attacks: int = 0
    strikes: int = 0
    total: int = 0

    def add(self, kind: str) -> None:
        if kind == "attack":
            self.attacks += 1
        else:
            self.strikes += 1
        self.total += 1


class RegionCount(Tally, kw_only=True):
    """One ITL1 region's tally, with the board filtered to it."""

    code: str
    """the ITL1 code (``TLI`` for London)"""
    name: str
    """the ONS name, the one the board's ``region`` filter takes"""
    board: str
    """the board filtered to this region: ``/?region=<name>``"""


class RegionCounts(msgspec.Struct, kw_only=True):
    """Per region, what the reader may see of open attacks and strikes this week."""

    position: int
    """the board position the counts were read at"""
    since: datetime
    """the start of "this week" (seven days before ``until``)"""
    until: datetime
    regions: list[RegionCount]
    """the twelve ITL1 regions, north to south"""
    unknown: Tally
    """items naming a region outside the vocabulary (written before it)"""
    no_region: Tally
    """items naming no region"""


def board_link(name: str) -> str:
    return "/?region=" + quote(name)


def active_this_week(row: Mapping[str, Any], now: datetime) -> bool:
    """Whether an item's row counts: an open attack or strike, reported or changed in the
    week before ``now``, or a strike with one of its days in that week."""
    if row["kind"] not in COUNTED or row["status"] in FINISHED:
        return False
    if row["updated_at"] >= now - WEEK:
        return True
    if row["kind"] != "strike":
        return False
    try:
        starts = date.fromisoformat(row["detail"]["starts_on"])
        ends = date.fromisoformat(row["detail"]["ends_on"])
    except (KeyError, TypeError, ValueError):
        return False
    return starts <= now.date() and ends >= (now - WEEK).date()


def count_regions(rows: Iterable[Mapping[str, Any]], viewer: str | None, now: datetime,
                  position: int) -> RegionCounts:
    """The counts ``viewer`` (None: the open view) may see among the board's ``rows``."""
    tallies = {r.name: RegionCount(code=r.code, name=r.name, board=board_link(r.name)) for r in REGIONS}
    unknown, no_region = Tally(), Tally()
    for row in rows:
        if not active_this_week(row, now) or not can_see(viewer, row["org"], row["tlp"], row["audience"]):
            continue
        if not row["region"]:
            no_region.add(row["kind"])
            continue
        name = canonical(row["region"])
        (tallies[name] if name else unknown).add(row["kind"])
    return RegionCounts(position=position, since=(now - WEEK).astimezone(UTC), until=now.astimezone(UTC),
                        regions=list(tallies.values()), unknown=unknown, no_region=no_region)


async def region_counts(conn: AsyncConnection, viewer: str | None) -> RegionCounts:
    """Open attacks and strikes of this week per region, as ``viewer`` may see them now."""
    async with conn.cursor(row_factory=dict_row) as cur:
        async with conn.transaction():
            await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            await cur.execute(POSITION)
            row = await cur.fetchone()
            await cur.execute("SELECT now() AS now")
            now = (await cur.fetchone())["now"]  # type: ignore[index]
            # strikes may count by their days alone: the rule itself is active_this_week's
            await cur.execute(
                """SELECT kind, org, tlp, audience, region, status, updated_at, detail FROM board.items
                   WHERE kind IN ('attack', 'strike') AND status NOT IN ('resolved', 'closed')
                     AND (updated_at >= %s OR kind = 'strike')""", [now - WEEK])
            rows = await cur.fetchall()
    return count_regions(rows, viewer, now, int(row["seq"]) if row else 0)
