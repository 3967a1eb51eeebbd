"""MP visits: the caucus's "star power" deployed where the left needs re-energising.

A publisher or the forum asks for an MP's visit to a picket, a rally or a local group
(``visit.requested``, naming the item it ``serves``); the caucus liaison confirms it with
the MP who goes or declines it; then the visit is done. Each step names the visit and the
item it serves, so the board shows the visit on that item's card without remembering.
"""

from __future__ import annotations

from contracts.base import Contract, ItemId, Moment, ShortText, Text


class VisitRequested(Contract, frozen=True, tag="visit.requested.v1"):
    """An organisation asks the caucus for an MP's visit to an item of the board (a picket,
    a rally, a local group's meeting)."""

    serves: ItemId
    """the item the visit is for (an action, a picket, a strike…)"""
    where: ShortText
    when: Moment | None = None
    mp: ShortText | None = None
    """the MP asked for, if the requester has one in mind"""
    note: Text | None = None


class VisitConfirmed(Contract, frozen=True, tag="visit.confirmed.v1"):
    """The caucus liaison confirms a requested visit, with the MP who goes."""

    visit: ItemId
    serves: ItemId
    mp: ShortText
    when: Moment | None = None
    note: Text | None = None


class VisitDeclined(Contract, frozen=True, tag="visit.declined.v1"):
    """The caucus liaison cannot send an MP, and says why."""

    visit: ItemId
    serves: ItemId
    reason: Text


class VisitDone(Contract, frozen=True, tag="visit.done.v1"):
    """A confirmed visit took place."""

    visit: ItemId
    serves: ItemId
    mp: ShortText
    note: Text | None = None


__all__ = ["VisitConfirmed", "VisitDeclined", "VisitDone", "VisitRequested"]
