"""CloudEvents 1.0, structured mode (JSON), as the wire envelope of the shared log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from contracts.base import Tlp
from contracts.registry import Event

CONTENT_TYPE = "application/cloudevents+json"


class CloudEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A CloudEvents 1.0 envelope; ``data`` is the contract, ``type`` its kind."""

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    tlp: Tlp
    data: Event  # type: ignore[valid-type]


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(CloudEvent)


def encode_envelope(event: CloudEvent) -> bytes:
    if event.type != event.data.__struct_config__.tag:  # type: ignore[attr-defined]
        raise ValueError(f"envelope type {event.type!r} does not match data kind")
    return _encoder.encode(event)


def decode_envelope(raw: bytes) -> CloudEvent:
    event = _decoder.decode(raw)
    if event.type != event.data.__struct_config__.tag:  # type: ignore[attr-defined]
        raise msgspec.ValidationError(f"envelope type {event.type!r} does not match data kind")
    return event
