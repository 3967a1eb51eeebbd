"""The AsyncAPI 3.0 document of the platform's NATS channels, generated from the contracts.

Channels: the shared log for services (``COALITION``, subjects ``coalition.<service>.<type>``)
and, per partner, the sharing stream ``SHARE`` as the partner reads it: through its own
durable consumer (named after it, ``events.partners``) whose filters are the subjects
``share.<class>.<type>`` the policy grants it (``events.sharing.filters``). One channel per
partner, though the events are stored once: what a partner receives is its filters. Messages:
one per contract, a structured CloudEvent 1.0 whose ``data`` is that contract's JSON
Schema (the same msgspec schema as ``contracts/schemas/``). The forum serves it at
``/asyncapi.json``; ``coalition asyncapi`` writes it.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from contracts.envelope import CONTENT_TYPE, CloudEvent
from contracts.registry import CONTRACTS, kind_of
from events.settings import SERVICES, STREAM
from events.partners import durable
from events.sharing import SHARE_PREFIX, SHARE_STREAM, Partner, filters

VERSION = "3.0.0"
REF = "#/components/schemas/{name}"

Document = dict[str, Any]


def channel_name(org: str) -> str:
    """The channel of what ``org`` receives: ``share-<org>``."""
    return f"share-{org}"


def _message_name(kind: str) -> str:
    return kind.replace(".", "_")


def _schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """Every contract's schema and the envelope's, as components."""
    refs, components = msgspec.json.schema_components([CloudEvent, *CONTRACTS], ref_template=REF)
    return {kind_of(c): ref for c, ref in zip(CONTRACTS, refs[1:], strict=True)}, components


def _envelope(kind: str, data_ref: dict[str, Any], envelope: dict[str, Any]) -> dict[str, Any]:
    """The CloudEvent schema with ``type`` fixed to ``kind`` and ``data`` the contract."""
    payload = copy.deepcopy(envelope)
    payload["properties"]["type"] = {"const": kind, "type": "string"}
    payload["properties"]["data"] = data_ref
    payload.pop("title", None)
    payload["description"] = f"A CloudEvent 1.0 (structured mode) of type {kind}."
    return payload


def document(partners: tuple[Partner, ...], services: tuple[str, ...] = SERVICES) -> Document:
    refs, components = _schemas()
    envelope = components.pop(CloudEvent.__name__)
    kinds = list(refs)
    messages = {
        _message_name(kind): {
            "name": kind,
            "title": kind,
            "contentType": CONTENT_TYPE,
            "summary": components[refs[kind]["$ref"].rsplit("/", 1)[1]].get("description", kind),
            "payload": _envelope(kind, refs[kind], envelope),
        }
        for kind in kinds
    }
    every = [{"$ref": f"#/components/messages/{_message_name(k)}"} for k in kinds]
    channels: dict[str, Any] = {
        "coalition": {
            "address": "coalition.{service}.{aggregate}.{event}",
            "title": f"The shared log ({STREAM})",
            "description": f"Every event the organisations publish, on stream {STREAM} (each service "
                           "publishes on its own subjects); the stream sequence is the position everywhere.",
            "parameters": {
                "service": {"description": "the publishing service", "enum": list(services)},
                "aggregate": {"description": "what the event is about (the CloudEvent type's first part)",
                              "enum": sorted({k.split(".")[0] for k in kinds})},
                "event": {"description": "what happened to it (the type's second part)",
                          "enum": sorted({k.split(".")[1] for k in kinds})},
            },
            "messages": dict(zip([_message_name(k) for k in kinds], every, strict=True)),
        },
    }
    operations: dict[str, Any] = {
        "readSharedLog": {
            "action": "receive",
            "channel": {"$ref": "#/channels/coalition"},
            "summary": "The board projection and the partners' channels read the shared log.",
            "messages": [{"$ref": f"#/channels/coalition/messages/{_message_name(k)}"} for k in kinds],
        },
    }
    for partner in partners:
        name = channel_name(partner.org)
        consumer = durable(partner.org)
        classes = [f.removeprefix(f"{SHARE_PREFIX}.").removesuffix(".>") for f in filters(partner)]
        channels[name] = {
            "address": f"{SHARE_PREFIX}.{{class}}.{{type}}",
            "title": f"{partner.org}'s share ({SHARE_STREAM} through its consumer {consumer})",
            "description": f"{partner.org} reads stream {SHARE_STREAM} through its own durable pull consumer "
                           f"{consumer!r}, which the NATS server filters to what {partner.org} may receive (up to "
                           f"{partner.max_tlp}): " + ", ".join(filters(partner)) + ". Fetch with "
                           f"$JS.API.CONSUMER.MSG.NEXT.{SHARE_STREAM}.{consumer}; acknowledgement policy 'all' "
                           "(acknowledging a message acknowledges every one before it).",
            "parameters": {
                "class": {"description": "the sharing class", "enum": classes},
                "type": {"description": "the event's type, as the distributor puts it in the subject"},
            },
            "messages": dict(zip([_message_name(k) for k in kinds], every, strict=True)),
        }
        operations[f"receive{name.title().replace('-', '').replace('_', '')}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"{partner.org} fetches and acknowledges through its own consumer {consumer!r} of "
                       f"{SHARE_STREAM}, and nothing else.",
            "messages": [{"$ref": f"#/channels/{name}/messages/{_message_name(k)}"} for k in kinds],
        }
    return {
        "asyncapi": VERSION,
        "info": {
            "title": "Coalition shared log",
            "version": "1.0.0",
            "description": "The events the coalition's organisations publish, as CloudEvents 1.0 on NATS "
                           "JetStream, and what each partner organisation receives under the sharing policy.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {"nats": {"host": "localhost:4222", "protocol": "nats",
                             "description": "the platform's NATS server (JetStream)"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": components},
    }
