"""Recording ``coalition partners add|revoke|replay`` on the log: each change is sent to the
running forum (``POST /v1/partners/{org}/changes``, the forum's own key), which records it
as ``partner.changed``, attributed to the forum.

**The order.** The forum is asked first whether it is there and knows the partner
(:meth:`ForumRecord.check`): if not, nothing is changed and the command says so. Then the
change is made on the NATS server, and only then recorded. Recording first would put on
the log changes that then failed (a revocation the log claims, while the partner still
receives); changing first means every record is of a change that was made. What is left
is the moment between the two: if the forum goes away just then, the command exits
non-zero saying the change stands and to run the same command again — which records it.

**Once, however often it is run.** The ``Idempotency-Key`` is derived from the change and
from what the change left on the NATS server (:func:`idempotency_key`): the moment the
partner's consumer of ``SHARE`` was made, which each ``add`` and ``replay`` makes anew, or
for a revocation its marker's revision (``events.partners``). Run again after a failed
record, ``add`` (finding the partner already receiving) and ``revoke`` (revoking again:
the marker is already there, no consumer to delete) leave that as it was, so they send
the same key and the forum records the change once. A ``replay`` run again really
replays again (its consumer is made anew): that second replay is recorded as one.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from nats.js import JetStreamContext

from events.organisations import load_organisations
from events.sharing import Partner

#: The forum's answer within this many seconds, or it is taken as not there.
TIMEOUT = 15.0


class NotRecorded(Exception):
    """The forum could not be reached, or refused the record: the message says what to do."""


def idempotency_key(partner: str, change: str, from_position: int | None, left: str) -> str:
    """The same for a run of the same change that left the same thing (``left``: see
    :func:`change_left`); another for any other change."""
    digest = hashlib.sha256(f"{partner}|{change}|{from_position}|{left}".encode()).hexdigest()
    return f"partner-{change}-{digest[:40]}"


async def change_left(js: JetStreamContext, partner: Partner) -> str:
    """What the last change left for ``partner`` on the NATS server: when its consumer was
    made (ISO 8601), or its revocation's marker revision."""
    from events.partners import states

    made = (await states(js, (partner,)))[0].made
    if not made:  # neither a consumer nor a revocation: never guess one
        raise NotRecorded(f"the NATS server has neither a consumer nor a revocation of {partner.org}")
    return made


@dataclass(frozen=True)
class ForumRecord:
    """Where the forum is, and its key."""

    url: str
    key: str

    @classmethod
    def of(cls, folder: Path) -> ForumRecord:
        """``COALITION_FORUM_URL`` and ``COALITION_API_KEYS``, else a running ``coalition up``'s
        ``endpoints.json`` and ``secrets.json``; exits before anything is changed if neither."""
        from events.settings import api_keys, env

        forum = next((o.id for o in load_organisations(folder) if o.service == "forum"), "forum")
        url, key = env("COALITION_FORUM_URL"), api_keys().get(forum)
        endpoints, secrets = folder / "endpoints.json", folder / "secrets.json"
        if not url:
            if not endpoints.exists():
                sys.exit(f"no {endpoints}: start the platform with `coalition up` (or set COALITION_FORUM_URL); "
                         "nothing was changed")
            url = json.loads(endpoints.read_text())["forum"]
        if not key:
            if not secrets.exists():
                sys.exit(f"no {secrets} and no COALITION_API_KEYS: the forum's key is needed to record the "
                         "change; nothing was changed")
            key = json.loads(secrets.read_text())["api_keys"][forum]
        return cls(url.rstrip("/"), key)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def check(self, partner: str) -> None:
        """Before the change: the forum answers, takes the key and knows ``partner``."""
        where = f"{self.url}/v1/partners/{partner}/changes"
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                resp = await client.get(where, headers=self._headers())
        except httpx.HTTPError as exc:
            raise NotRecorded(f"the forum is not running at {self.url} ({type(exc).__name__}): nothing was "
                              "changed; start the platform and run the command again") from None
        if resp.status_code != 200:
            raise NotRecorded(f"the forum answered {resp.status_code} ({_detail(resp)}): nothing was changed")

    async def record(self, partner: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """Record the change made; its ``{"id", "version"}`` (the partnership, its version)."""
        again = ("the change on the NATS server stands: run the same command again to record it "
                 "(it is recorded once)")
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                resp = await client.post(f"{self.url}/v1/partners/{partner}/changes", json=body,
                                          headers={**self._headers(), "Idempotency-Key": key})
        except httpx.HTTPError as exc:
            raise NotRecorded(f"the forum at {self.url} did not record it ({type(exc).__name__}); {again}") from None
        if resp.status_code != 201:
            raise NotRecorded(f"the forum answered {resp.status_code} ({_detail(resp)}); {again}")
        answer: dict[str, Any] = resp.json()
        return answer


def _detail(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("detail", resp.text[:200]))
    except ValueError:
        return resp.text[:200]
