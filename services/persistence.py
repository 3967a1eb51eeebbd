"""How the services' domain events are stored: typed values through msgspec.

eventsourcing's default JSON transcoder knows UUIDs and datetimes but not dates or
msgspec Structs, so values used to be turned into strings by one layer for another to
parse back. :class:`MsgspecMapper`, set through eventsourcing's ``MAPPER_TOPIC``, encodes
an event's attributes with msgspec and decodes them into the types the event's own
annotations declare (the ``@event`` method's signature), so a ``Target``, a ``date`` or
a ``Sharing`` comes back as itself. Events stored by the earlier transcoder are still
read: their tagged JSON is decoded by it and then converted to the declared types.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Any, ClassVar

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

_IDENTITY = ("originator_id", "originator_version")
_encoder = msgspec.json.Encoder()


@cache
def _state_type(cls: type) -> type[msgspec.Struct]:
    """A Struct with the event class's own fields (not its identity), for decoding."""
    hints = typing.get_type_hints(cls)
    fields = [
        (name, hint) for name, hint in hints.items()
        if name not in _IDENTITY and typing.get_origin(hint) is not ClassVar
    ]
    return msgspec.defstruct(f"{cls.__qualname__}State", fields, kw_only=True)


@cache
def _decoder(cls: type) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(_state_type(cls))


class MsgspecMapper(Mapper[Any]):
    """Domain events to stored events and back, with their declared types."""

    def to_stored_event(self, domain_event: DomainEventProtocol[Any]) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=_encoder.encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        cls = resolve_topic(stored_event.topic)
        try:
            state = msgspec.structs.asdict(_decoder(cls).decode(stored_event.state))
        except msgspec.ValidationError:
            state = self._legacy(cls, stored_event.state)
        state["originator_id"] = stored_event.originator_id
        state["originator_version"] = stored_event.originator_version
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return domain_event  # type: ignore[no-any-return]

    def _legacy(self, cls: type, raw: bytes) -> dict[str, Any]:
        """An event stored by eventsourcing's JSON transcoder, before this mapper: each
        value it holds is converted to its declared type (strings to dates, dicts to
        Structs); a field it never had stays absent."""
        old = self.transcoder.decode(raw)
        hints = typing.get_type_hints(cls)
        return {name: msgspec.convert(value, hints[name], strict=False) if name in hints else value
                for name, value in old.items()}
