"""The organisations of the coalition, the service each publishes through, and the
coordinators' accounts (each belonging to an organisation).

Read from ``coalition.toml`` (``[[organisations]]`` and ``[[coordinators]]`` tables) when
the data folder or the working directory has one; otherwise the defaults below, which
the demo uses. Passwords are never in the file: ``coalition coordinators add|passwd``
stores an Argon2 hash, and the embedded demo generates them (``secrets.json``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

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


Username = Annotated[str, msgspec.Meta(min_length=2, max_length=60, pattern=r"^[a-z0-9][a-z0-9._-]*$")]


class Coordinator(msgspec.Struct, frozen=True, kw_only=True):
    """A person who logs in to the board: a coordinator (triage, assign, decide) or an
    observer (reads only), of one organisation, seeing what that organisation may see."""

    username: Username
    name: str
    """Their display name, which the events they cause carry as ``actor``."""
    organisation: str
    role: Literal["coordinator", "observer"] = "coordinator"


DEFAULT_COORDINATORS: tuple[Coordinator, ...] = (
    Coordinator(username="forum-duty", name="Forum duty coordinator", organisation="forum"),
    Coordinator(username="momentum-coordinator", name="Momentum coordinator", organisation="momentum"),
    Coordinator(username="rmt-coordinator", name="RMT coordinator", organisation="rmt"),
    Coordinator(username="fbu-coordinator", name="FBU coordinator", organisation="fbu"),
    Coordinator(username="observer", name="Forum observer", organisation="forum", role="observer"),
)


class _File(msgspec.Struct):
    organisations: list[Organisation]
    coordinators: list[Coordinator] = []


def _file(folders: tuple[Path, ...]) -> _File | None:
    for folder in (*folders, Path.cwd()):
        path = folder / "coalition.toml"
        if path.exists():
            found = msgspec.convert(tomllib.loads(path.read_text()), _File)
            ids = {o.id for o in found.organisations}
            for c in found.coordinators:
                if c.organisation not in ids:
                    raise ValueError(f"coordinator {c.username}: no organisation {c.organisation!r} in {path}")
            return found
    return None


def load_organisations(*folders: Path) -> tuple[Organisation, ...]:
    found = _file(folders)
    return tuple(found.organisations) if found else DEFAULT_ORGANISATIONS


def load_coordinators(*folders: Path) -> tuple[Coordinator, ...]:
    """The coordinators' accounts of ``coalition.toml`` (none if it lists none), else the demo's."""
    found = _file(folders)
    return tuple(found.coordinators) if found else DEFAULT_COORDINATORS
