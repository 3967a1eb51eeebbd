"""The sharing fields every published item carries."""

from __future__ import annotations

from typing import TypedDict


class Sharing(TypedDict):
    """Who may see an item (TLP 2.0 and an optional audience), where, and what it refers to."""

    tlp: str
    audience: list[str] | None
    region: str | None
    refs: list[str]


def sharing(tlp: str, audience: list[str] | None, region: str | None, refs: list[str]) -> Sharing:
    return Sharing(tlp=tlp, audience=audience, region=region, refs=list(refs))
