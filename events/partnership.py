"""A partner's partnership along the shared log: the one rule the channels that read the
log themselves (the HTTP feed, the webhooks) apply on top of the sharing policy, so that a
revoked partner gets nothing more there than over NATS (``events.partners``).

**The rule.** The partnership at log position P is the latest ``partner.changed`` for that
partner at or before P (none: the partner receives, as the configuration says):

* ``revoked`` at R — nothing after R is delivered, R itself included (the revocation is not
  sent: over NATS the partner's consumer is deleted at that moment too). A reader that is behind
  still receives what comes before R: those events were granted when they were published.
* ``added`` at A after a revocation at R — delivery resumes right after R: the events
  between the revocation and the re-add are delivered too (over NATS, ``add`` makes the
  partner's consumer from the start of the log within the policy: this is the same backfill),
  and nothing the reader already had is sent again (each event once per ``webhook-id``).
  ``added`` while the partner receives changes nothing.
* ``replayed`` from Q at A — delivery goes on from Q (the reader's position becomes
  Q - 1): back over events already sent when Q is before the reader (an explicit replay,
  as over NATS, with the same ``webhook-id``), or on past those before Q when Q is later.
  Revoked before it or not, the partner receives again. No ``from_position``: from 1.

A reader applies each change once, when its walk reaches the change's position
(:class:`Walk` records the last one applied, so a walk sent back over a change by that
very change does not apply it again); a reader that starts at a position folds the changes
at or before it without moving (:func:`start`): it asked for what comes after.

A revocation itself is never sent, even when a replay or a redelivery walks back over it;
while a revocation is in force, a redelivery sends nothing either.

For the feed, which a partner reads by position (:func:`feed_window`), a partner revoked
now is refused (``403``); a page stops at a revocation; after a re-add the partner's own
position resumes it, with what the revocation held back; after a replay from Q, the feed
gives it what comes from Q on.

Pure: the history is read from the log by ``events.partnership_log``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

#: The subject the forum records partner changes on (``services.translator``). Only the
#: forum's NATS user may publish there, so a change read from it is the forum's.
SUBJECT = "coalition.forum.partner.changed"

ChangeKind = Literal["added", "revoked", "replayed"]


@dataclass(frozen=True, slots=True)
class Change:
    """One ``partner.changed`` on the log."""

    position: int
    partner: str
    change: ChangeKind
    from_position: int | None = None
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Walk:
    """Where a reader of the log stands for one partner: its position (the last event
    delivered or passed over), the revocation in force (None: it receives) and the
    position of the last change it applied."""

    position: int
    revoked_at: int | None = None
    applied: int = 0

    @property
    def receiving(self) -> bool:
        return self.revoked_at is None


def follow(walk: Walk, change: Change) -> Walk:
    """The walk after it reaches ``change`` (at the change's position, before deciding on
    the event there): the rule of the module docstring."""
    if change.position <= walk.applied:
        return walk
    match change.change:
        case "revoked":
            if walk.revoked_at is not None:
                return replace(walk, applied=change.position)
            return Walk(position=max(walk.position, change.position), revoked_at=change.position,
                        applied=change.position)
        case "added":
            return replace(walk, revoked_at=None, applied=change.position)
        case "replayed":
            return Walk(position=max(0, (change.from_position or 1) - 1), revoked_at=None, applied=change.position)
    raise ValueError(f"unknown partner change {change.change!r}")


def start(walk: Walk, changes: list[Change]) -> Walk:
    """A reader starting at ``walk.position``: the changes at or before it (and after the
    last one applied) folded into its standing, its position unmoved."""
    for change in changes:
        if walk.applied < change.position <= walk.position:
            revoked = change.position if change.change == "revoked" else None
            if change.change == "revoked" and walk.revoked_at is not None:
                revoked = walk.revoked_at
            walk = Walk(position=walk.position, revoked_at=revoked, applied=change.position)
    return walk


def feed_window(changes: list[Change]) -> tuple[int, Change | None]:
    """What the feed may give a partner, from its changes as far as known: the first
    position it receives (after a ``replayed``, its ``from_position``; else 1) and the
    revocation that stops it (None: it receives). The feed is read by position, so it
    needs no walk: a re-added partner resumes from its own position, and everything the
    revocation held back (and within the policy) is there for it, as over NATS."""
    starts = [c for c in changes if c.change != "revoked"]
    latest = starts[-1] if starts else None
    first = (latest.from_position or 1) if latest is not None and latest.change == "replayed" else 1
    stops = [c for c in changes if c.change == "revoked" and (latest is None or c.position > latest.position)]
    return first, (stops[0] if stops else None)


class History:
    """Every partner's changes in log order, complete up to :attr:`known` (a position of
    the log: no change at or before it is missing)."""

    def __init__(self) -> None:
        self.known = 0
        self._changes: dict[str, list[Change]] = {}
        self._positions: dict[str, list[int]] = {}

    def add(self, change: Change) -> None:
        """Record ``change`` (again: once)."""
        mine = self._changes.setdefault(change.partner, [])
        positions = self._positions.setdefault(change.partner, [])
        i = bisect.bisect_left(positions, change.position)
        if i < len(mine) and positions[i] == change.position:
            return
        mine.insert(i, change)
        positions.insert(i, change.position)

    def complete_to(self, position: int) -> None:
        self.known = max(self.known, position)

    def of(self, partner: str, upto: int | None = None) -> list[Change]:
        """``partner``'s changes at or before ``upto`` (every one known without it)."""
        mine = self._changes.get(partner, [])
        if upto is None:
            return list(mine)
        return mine[:bisect.bisect_right(self._positions.get(partner, []), upto)]

    def at(self, partner: str, position: int) -> Change | None:
        """The change in force at ``position``: the latest at or before it."""
        i = bisect.bisect_right(self._positions.get(partner, []), position)
        return self._changes[partner][i - 1] if i else None

    def next_after(self, partner: str, position: int) -> Change | None:
        """``partner``'s first change after ``position``, if one is known."""
        mine = self._changes.get(partner, [])
        i = bisect.bisect_right(self._positions.get(partner, []), position)
        return mine[i] if i < len(mine) else None

    def is_revocation(self, partner: str, position: int) -> bool:
        """Whether the event at ``position`` is ``partner``'s revocation: never sent to it,
        even when a replay or a redelivery walks over it again."""
        change = self.at(partner, position)
        return change is not None and change.position == position and change.change == "revoked"

    def revocation(self, partner: str) -> Change | None:
        """The revocation in force now (as far as known), or None if the partner receives."""
        mine = self._changes.get(partner, [])
        return mine[-1] if mine and mine[-1].change == "revoked" else None
