"""The one vocabulary of places: the UK's nations and England's regions, as the ONS's
International Territorial Levels (ITL1) name them, and the names people actually type.

Partners wrote regions as free text ("Yorks", "east anglia", "NI", "Cymru"): the board
could neither filter nor count them. Commands now take a region only if it is one of the
twelve below or a known alias (any case, any spacing, "&" for "and"), and store the
ONS name; anything else is refused, naming the field. Events already on the log keep
what they said — contracts still read any text as a region — and readers map it with
:func:`canonical` (``None``: outside the vocabulary, counted as unknown).

Pure data and one function: no I/O.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Region(NamedTuple):
    """One ITL1 region: its code, the ONS's name for it, and the short label a map tile has room for."""

    code: str
    name: str
    short: str


#: The twelve ITL1 regions (ONS, 2021 codes), north to south as the map reads.
REGIONS: tuple[Region, ...] = (
    Region("TLM", "Scotland", "Scotland"),
    Region("TLC", "North East", "North East"),
    Region("TLN", "Northern Ireland", "N. Ireland"),
    Region("TLD", "North West", "North West"),
    Region("TLE", "Yorkshire and The Humber", "Yorkshire"),
    Region("TLL", "Wales", "Wales"),
    Region("TLG", "West Midlands", "W. Midlands"),
    Region("TLF", "East Midlands", "E. Midlands"),
    Region("TLH", "East of England", "East"),
    Region("TLK", "South West", "South West"),
    Region("TLJ", "South East", "South East"),
    Region("TLI", "London", "London"),
)

NAMES: tuple[str, ...] = tuple(r.name for r in REGIONS)
BY_NAME: dict[str, Region] = {r.name: r for r in REGIONS}
BY_CODE: dict[str, Region] = {r.code: r for r in REGIONS}

#: What people call them besides the ONS name (matched as :func:`_key` normalises): older
#: NUTS1 codes, the nations' own names, and the usual shortenings.
ALIASES: dict[str, str] = {
    # North East
    "northeast": "North East", "north east england": "North East", "the north east": "North East",
    "ne england": "North East", "ukc": "North East",
    # North West
    "northwest": "North West", "north west england": "North West", "the north west": "North West",
    "nw england": "North West", "ukd": "North West",
    # Yorkshire and The Humber
    "yorkshire": "Yorkshire and The Humber", "yorks": "Yorkshire and The Humber",
    "yorkshire and humber": "Yorkshire and The Humber", "yorkshire and humberside": "Yorkshire and The Humber",
    "yorkshire humber": "Yorkshire and The Humber", "the humber": "Yorkshire and The Humber",
    "humber": "Yorkshire and The Humber", "uke": "Yorkshire and The Humber",
    # East Midlands
    "eastmidlands": "East Midlands", "east mids": "East Midlands", "ukf": "East Midlands",
    # West Midlands
    "westmidlands": "West Midlands", "west mids": "West Midlands", "ukg": "West Midlands",
    # East of England
    "east anglia": "East of England", "east england": "East of England", "eastern england": "East of England",
    "the east of england": "East of England", "eastern": "East of England", "ukh": "East of England",
    # London
    "greater london": "London", "uki": "London",
    # South East
    "southeast": "South East", "south east england": "South East", "the south east": "South East",
    "se england": "South East", "ukj": "South East",
    # South West
    "southwest": "South West", "south west england": "South West", "the south west": "South West",
    "sw england": "South West", "ukk": "South West",
    # the nations
    "cymru": "Wales", "ukl": "Wales",
    "alba": "Scotland", "ukm": "Scotland",
    "ni": "Northern Ireland", "n ireland": "Northern Ireland", "norn iron": "Northern Ireland",
    "ukn": "Northern Ireland",
}

_SEPARATORS = re.compile(r"[\s.,'’_/-]+")


def _key(text: str) -> str:
    """``text`` as aliases are matched: case folded, "&" read as "and", punctuation and
    runs of spaces as one space."""
    return _SEPARATORS.sub(" ", text.casefold().replace("&", " and ")).strip()


_LOOKUP: dict[str, str] = {
    **{_key(alias): name for alias, name in ALIASES.items()},
    **{_key(r.name): r.name for r in REGIONS},
    **{_key(r.code): r.name for r in REGIONS},
}


def canonical(text: str | None) -> str | None:
    """The ONS name of the region ``text`` names (its name, code or an alias, in any case),
    or None when it names none of them."""
    if not text:
        return None
    return _LOOKUP.get(_key(text))


def describe() -> str:
    """The vocabulary in one sentence, for refusals and API documentation."""
    return "one of " + ", ".join(NAMES) + " (or its ITL1 code, e.g. TLI, or a common alias such as " \
           "'Yorkshire', 'East Anglia', 'NI', 'Cymru'; any case)"
