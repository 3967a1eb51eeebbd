"""Schemathesis hooks for ``tests/test_openapi.py`` (loaded by the ``schemathesis run`` it
starts, through its configuration): an Idempotency-Key of each request's own, and board
reads and the board's live feed that hold no longer than a moment. (The real ids on the routes of an item are
parameters of the configuration, ``tests/schemathesis.toml``.)"""

from __future__ import annotations

import hashlib
from typing import Any

import schemathesis

from services.idempotency import HEADER, VALID_KEY

#: The longest a fuzzed board read may hold (``wait`` may ask for 30 seconds).
LONGEST_WAIT = 0.2


@schemathesis.hook
def map_query(_: schemathesis.HookContext, query: dict[str, Any] | None) -> dict[str, Any] | None:
    wait = query.get("wait") if isinstance(query, dict) else None
    if isinstance(wait, (int, float)) and not isinstance(wait, bool) and wait > LONGEST_WAIT:
        return {**query, "wait": LONGEST_WAIT}
    return query


@schemathesis.hook
def map_case(_: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """A valid Idempotency-Key becomes one of this request's own (a digest of its route and
    body): schemathesis would send the same few keys ("0") with every body, and each
    command would be refused as a reuse (422) before its body is even looked at. The same
    request twice is still a retry, answered as the first."""
    if case.operation.label == "GET /api/board/events" and isinstance(case.query, dict):
        case.query["hold"] = LONGEST_WAIT  # the live feed never ends on its own
    key = (case.headers or {}).get(HEADER)
    if isinstance(key, str) and VALID_KEY.match(key):
        request = repr((case.operation.label, case.path_parameters, case.body)).encode()
        case.headers[HEADER] = hashlib.sha256(request).hexdigest()
    return case
