"""What every shared event carries, and the small vocabularies they share."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
"""Traffic Light Protocol 2.0: who may see an event beyond its publisher."""

TLP_ORDER: dict[str, int] = {"CLEAR": 0, "GREEN": 1, "AMBER": 2, "AMBER+STRICT": 3, "RED": 4}
"""From least to most restricted: a marking passed on to what follows an item is never lowered."""

OrgId = Annotated[str, Meta(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
ItemId = Annotated[str, Meta(min_length=1, max_length=64, description="id of a shared item (a UUID)")]
Text = Annotated[str, Meta(min_length=1, max_length=2000)]
ShortText = Annotated[str, Meta(min_length=1, max_length=200)]
Region = Annotated[str, Meta(min_length=2, max_length=60, description="UK nation or English region")]
PersonalName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        description="personal data: encrypted per person, erasable by destroying the key",
        extra_json_schema={"x-personal-data": True},
    ),
]
Severity = Literal["low", "medium", "high", "critical"]


class Contract(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", forbid_unknown_fields=False):
    """Fields every shared event carries."""

    org: OrgId
    """The publishing organisation (for ``unions``, which union)."""
    occurred_at: datetime
    tlp: Tlp = "GREEN"
    audience: list[OrgId] | None = None
    region: Region | None = None
    refs: list[ItemId] = []


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """Who an attack is aimed at."""

    kind: Literal["member", "mp", "councillor", "constituency_party", "local_group", "union", "organisation"]
    name: PersonalName | None = None
    ref: ItemId | None = None
