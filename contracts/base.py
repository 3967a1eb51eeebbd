"""What every shared event carries, and the small vocabularies they share.

Every limit that storage or transport has is a rule here, checked wherever a contract
is decoded (and by the commands, which reuse these types): text without NUL or other
control characters (newline and tab allowed), a bound on every string and list, numbers
that fit the board's columns, and instants between 1900 and 2200 (which convert to UTC).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from contracts.regions import NAMES as REGION_NAMES
from contracts.regions import describe as describe_regions

Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
"""Traffic Light Protocol 2.0: who may see an event beyond its publisher."""

TLP_ORDER: dict[str, int] = {"CLEAR": 0, "GREEN": 1, "AMBER": 2, "AMBER+STRICT": 3, "RED": 4}
"""From least to most restricted: a marking passed on to what follows an item is never lowered."""

PLAIN = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
"""Text without control characters (C0, DEL, C1) except newline and tab: PostgreSQL
cannot store NUL, and the others only hide things from the people reading."""

OrgId = Annotated[str, Meta(min_length=2, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
ItemId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
                             description="id of a shared item (a UUID)")]
Text = Annotated[str, Meta(min_length=1, max_length=2000, pattern=PLAIN)]
ShortText = Annotated[str, Meta(min_length=1, max_length=200, pattern=PLAIN)]
Region = Annotated[str, Meta(min_length=2, max_length=60, pattern=PLAIN, description="UK nation or English region")]
"""A region as the shared log carries it: free text, because events written before the
vocabulary (``contracts.regions``) must stay readable. New events name one of the twelve
ITL1 regions: commands take :data:`PlaceName` and store its ONS name; readers map old text
with ``contracts.regions.canonical`` (None: unknown)."""
PlaceName = Annotated[str, Meta(min_length=2, max_length=60, pattern=PLAIN, description=describe_regions(),
                                examples=list(REGION_NAMES))]
"""A region as a partner sends it: one of the ITL1 regions by name or code, or an alias, in
any case (checked and mapped to the ONS name by the commands: anything else is a 400)."""
PersonalName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=PLAIN,
        description="personal data: encrypted per person, erasable by destroying the key",
        extra_json_schema={"x-personal-data": True},
    ),
]
Severity = Literal["low", "medium", "high", "critical"]

Refs = Annotated[list[ItemId], Meta(max_length=100, description="the items this one is about (at most 100)")]
Audience = Annotated[list[OrgId], Meta(max_length=50, description="the organisations that may see it (at most 50)")]
OrgIds = Annotated[list[OrgId], Meta(max_length=200)]
People = Annotated[int, Meta(ge=0, le=1_000_000, description="a head count (at most 1,000,000)")]
LogPosition = Annotated[int, Meta(ge=0, le=2**63 - 1, description="a position (stream sequence) of the shared log")]

EARLIEST_YEAR, LATEST_YEAR = 1900, 2200
Moment = Annotated[datetime, Meta(description=f"an instant between the years {EARLIEST_YEAR} and {LATEST_YEAR}")]
"""A point in time, with its UTC offset; outside these years it would not convert to UTC."""


def check_times(value: msgspec.Struct) -> None:
    """Raise ValueError naming the first instant of ``value`` outside the years a
    :data:`Moment` allows (msgspec's constraints cannot bound a datetime)."""
    for attr, name in _instants(type(value)):
        at = getattr(value, attr)
        if at is not None and not EARLIEST_YEAR <= at.year <= LATEST_YEAR:
            raise ValueError(f"`{name}` must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}, "
                             f"not {at.isoformat()}")


@cache
def _instants(cls: type[msgspec.Struct]) -> tuple[tuple[str, str], ...]:
    """(attribute, name on the wire) of each datetime field of ``cls``."""
    def is_instant(t: Any) -> bool:
        if isinstance(t, msgspec.inspect.Metadata):
            return is_instant(t.type)
        if isinstance(t, msgspec.inspect.UnionType):
            return any(is_instant(member) for member in t.types)
        return isinstance(t, msgspec.inspect.DateTimeType)

    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    return tuple((f.name, f.encode_name) for f in info.fields if is_instant(f.type))


class Contract(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", forbid_unknown_fields=False):
    """Fields every shared event carries."""

    org: OrgId
    """The publishing organisation (for ``unions``, which union)."""
    occurred_at: Moment
    tlp: Tlp = "GREEN"
    audience: Audience | None = None
    region: Region | None = None
    refs: Refs = []
    actor: PersonalName | None = None
    """The person who made the change (a coordinator's display name), when a person did:
    with ``org`` it attributes the event. Personal data, like every name of a person."""


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """Who an attack is aimed at."""

    kind: Literal["member", "mp", "councillor", "constituency_party", "local_group", "union", "organisation"]
    name: PersonalName | None = None
    ref: ItemId | None = None
