"""The forum's record of its partners' subscriptions: each change an administrator makes
to what a partner receives (``coalition partners add|revoke|replay``) is on the log.

What a partner receives is decided by the NATS server (``events.partners``); this event
is the forum's statement that it changed, so that who was receiving what, and from when,
is part of the same audit trail as every decision the forum takes."""

from __future__ import annotations

from typing import Literal

from contracts.base import Contract, LogPosition, OrgId, Text, Tlp

Change = Literal["added", "revoked", "replayed"]
"""added: its stream sources everything it may receive from the start of the log;
revoked: nothing more is copied and its stream was purged; replayed: its stream sources
again from ``from_position``."""


class PartnerChanged(Contract, frozen=True, tag="partner.changed.v1"):
    """The forum added, revoked or replayed a partner's subscription (its stream
    ``PARTNER_<ORG>``); the subject is the partnership, one per partner."""

    partner: OrgId
    change: Change
    max_tlp: Tlp
    """The highest marking the partner may receive, as configured when the change was made."""
    from_position: LogPosition | None = None
    """A replay's first position of the shared log (a ``COALITION`` sequence); None otherwise."""
    note: Text | None = None
    """Why, in the forum's words."""
