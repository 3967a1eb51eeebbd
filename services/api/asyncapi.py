"""``GET /asyncapi.json``: the AsyncAPI 3.0 document of the NATS channels and their
messages (``events.asyncapi``), for the partners' developers."""

from __future__ import annotations

from functools import cache
from typing import Any

from litestar import get

from events.asyncapi import document
from services.api.partner_access import policy


@cache
def _document() -> dict[str, Any]:
    return document(policy()[0])


@get("/asyncapi.json", operation_id="getAsyncApi", tags=["partners"], sync_to_thread=False)
def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document: the shared log's channel and each partner's stream, with
    every contract as a CloudEvent message."""
    return _document()
