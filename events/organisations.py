"""The organisations of the coalition and the service each publishes through.

Read from ``coalition.toml`` (``[[organisations]]`` tables) when the data folder or the
working directory has one; otherwise the defaults below, which the demo uses.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from events.settings import SERVICES


class Organisation(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    kind: str  # movement, caucus, union, forum
    service: str
    """The service it publishes through: one of ``events.settings.SERVICES``."""

    def __post_init__(self) -> None:
        if self.service not in SERVICES:
            raise ValueError(f"organisation {self.id}: no service {self.service!r} (one of {', '.join(SERVICES)})")


DEFAULT_ORGANISATIONS: tuple[Organisation, ...] = (
    Organisation(id="momentum", name="Momentum", kind="movement", service="momentum"),
    Organisation(id="scg", name="Socialist Campaign Group liaison office", kind="caucus", service="scg"),
    Organisation(id="rmt", name="RMT (rail, maritime and transport)", kind="union", service="unions"),
    Organisation(id="fbu", name="Fire Brigades Union", kind="union", service="unions"),
    Organisation(id="bfawu", name="Bakers, Food and Allied Workers Union", kind="union", service="unions"),
    Organisation(id="forum", name="Forum coordinators", kind="forum", service="forum"),
)


class _File(msgspec.Struct):
    organisations: list[Organisation]


def load_organisations(*folders: Path) -> tuple[Organisation, ...]:
    for folder in (*folders, Path.cwd()):
        path = folder / "coalition.toml"
        if path.exists():
            data = tomllib.loads(path.read_text())
            return tuple(msgspec.convert(data, _File).organisations)
    return DEFAULT_ORGANISATIONS
