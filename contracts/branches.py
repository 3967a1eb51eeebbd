"""Union branches and their workplace reps, registered per union with their region, so
that the forum can find where a local group and a branch can work together."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from contracts.base import Contract, ItemId, PersonalName, ShortText

Workplaces = Annotated[list[ShortText], Meta(max_length=500, description="at most 500")]


class BranchRegistered(Contract, frozen=True, tag="branch.registered.v1"):
    """A union registers one of its branches: its name, region and workplaces (``region``
    is required by the command)."""

    name: ShortText
    workplaces: Workplaces = []
    contact: ShortText | None = None
    """how the forum reaches the branch (a branch office or address, not a person)"""


class RepRegistered(Contract, frozen=True, tag="rep.registered.v1"):
    """A workplace rep of a branch: the workplace, the role, and (if the union shares it)
    the rep's name, which is personal data."""

    rep: ItemId
    """the rep's id (reps are registered as events of their branch)"""
    branch: ItemId
    workplace: ShortText
    role: ShortText | None = None
    name: PersonalName | None = None


__all__ = ["BranchRegistered", "RepRegistered"]
