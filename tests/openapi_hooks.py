"""Schemathesis hooks for ``tests/test_openapi.py`` (loaded by the ``schemathesis run`` it
starts, through its configuration): an Idempotency-Key of each request's own, and board
reads and the live streams (the board's, the partners' feed) that hold no longer than a moment. (The real ids on the routes of an item are
parameters of the configuration, ``tests/schemathesis.toml``.)"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

import schemathesis

from services.idempotency import HEADER, VALID_KEY

#: The longest a fuzzed board read may hold (``wait`` may ask for 30 seconds).
LONGEST_WAIT = 0.2
#: The live streams, which never end on their own: held a moment only.
LIVE = ("GET /api/board/events", "GET /v1/feed/events")


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
    if case.operation.label in LIVE and isinstance(case.query, dict):
        case.query["hold"] = LONGEST_WAIT  # the live feed never ends on its own
    _real_ids_in_body(case)
    key = (case.headers or {}).get(HEADER)
    if isinstance(key, str) and VALID_KEY.match(key):
        request = repr((case.operation.label, case.path_parameters, case.body)).encode()
        case.headers[HEADER] = hashlib.sha256(request).hexdigest()
    return case


# --- issue 11: real ids in the bodies of commands that look an item up -------------------

#: A body field naming an item, per operation, and the variable holding a real id for it
#: (set by ``tests/test_openapi.py`` for the service under test): with random ids every
#: valid request would be a 404, and the run would never reach past the look-up.
BODY_IDS = {"POST /v1/visits": ("serves", "COALITION_FUZZ_SERVES"),
            "POST /v1/ballots": ("refs", "COALITION_FUZZ_BALLOTED")}
_ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


def _real_ids_in_body(case: schemathesis.Case) -> None:
    """A valid id in such a field becomes the real one, so a valid body stays valid and
    an invalid one stays invalid (only ids that were valid are replaced)."""
    field, variable = BODY_IDS.get(case.operation.label, (None, ""))
    real = os.environ.get(variable, "none")
    if field is None or real == "none" or not isinstance(case.body, dict):
        return
    value = case.body.get(field)

    def valid(v: Any) -> bool:
        return isinstance(v, str) and 1 <= len(v) <= 64 and bool(_ITEM_ID.match(v))

    if valid(value):
        case.body[field] = real
    elif isinstance(value, list) and value and all(valid(v) for v in value):
        case.body[field] = [real] * len(value)
