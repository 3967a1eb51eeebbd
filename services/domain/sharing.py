"""The sharing fields every published item carries, and how they pass to what follows it."""

from __future__ import annotations

import msgspec

from contracts.base import TLP_ORDER, Tlp


class Sharing(msgspec.Struct, frozen=True, kw_only=True):
    """Who may see an item (TLP 2.0 and an optional audience), where, and what it refers to."""

    tlp: Tlp = "GREEN"
    audience: list[str] | None = None
    region: str | None = None
    refs: list[str] = []

    def passed_on(self, item: str, *, tlp: Tlp | None = None, region: str | None = None) -> Sharing:
        """The sharing of an event about ``item`` (a pledge to an action, a picket of a
        strike, a triage of any item): the item's audience and region, and its TLP unless
        a stricter one is given; a marking is never lowered by what follows it."""
        strictest = self.tlp if tlp is None or TLP_ORDER[tlp] < TLP_ORDER[self.tlp] else tlp
        return Sharing(tlp=strictest, audience=self.audience, region=region or self.region, refs=[item])
