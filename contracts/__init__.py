"""The published language between organisations.

Versioned msgspec Structs (a tagged union on ``kind``), the CloudEvents envelope that
carries them, and committed JSON Schema snapshots. Domain events never go on the wire
as they are: each service translates its domain events into these contracts.
"""

from contracts.base import Contract, Tlp
from contracts.envelope import CloudEvent, decode_envelope, encode_envelope
from contracts.registry import CONTRACTS, Event, contract_for_kind

__all__ = [
    "CONTRACTS",
    "CloudEvent",
    "Contract",
    "Event",
    "Tlp",
    "contract_for_kind",
    "decode_envelope",
    "encode_envelope",
]
