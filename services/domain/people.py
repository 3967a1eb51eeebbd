"""Who makes a change: an organisation, and the person of it, if a person did."""

from __future__ import annotations

from typing import Literal

import msgspec

from services.domain.errors import ReadOnly

Role = Literal["coordinator", "observer"]


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """The organisation a change is attributed to and, for a change made from the board,
    the person (their display name); a machine with the organisation's key has no name."""

    org: str
    name: str | None = None
    role: Role = "coordinator"

    def check_may_change(self) -> None:
        """An observer may look but not change anything."""
        if self.role != "coordinator":
            raise ReadOnly(f"{self.name or self.org} is an observer: observers may not change anything")
