"""CloudEvents 1.0, structured mode (JSON), as the wire envelope of the shared log."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from contracts.base import PLAIN, ItemId, Moment, Tlp, check_times
from contracts.registry import Event

CONTENT_TYPE = "application/cloudevents+json"

MAX_ENVELOPE = 512 * 1024
"""The largest encoded envelope a service publishes: half of NATS's ``max_payload``
(1 MiB), leaving room for headers. Larger events are refused before they are stored."""

Attribute = Annotated[str, Meta(min_length=1, max_length=200, pattern=PLAIN)]


class CloudEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A CloudEvents 1.0 envelope; ``data`` is the contract, ``type`` its kind."""

    specversion: Literal["1.0"] = "1.0"
    id: Attribute
    source: Attribute
    type: Attribute
    subject: ItemId
    time: Moment
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
    try:
        check_times(event)
        check_times(event.data)
    except ValueError as exc:
        raise msgspec.ValidationError(str(exc)) from None
    return event
