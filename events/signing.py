"""Standard Webhooks signatures: what a partner's receiver checks to know a delivery is ours.

Each endpoint has a secret ``whsec_<base64 of 32 random bytes>``. A delivery is signed
``v1,<base64 HMAC-SHA256>`` over ``<webhook-id>.<webhook-timestamp>.<body>`` with the
secret's bytes; during a rotation the endpoint has two valid secrets and the
``webhook-signature`` header carries both signatures, separated by a space, so a receiver
holding either verifies it (https://www.standardwebhooks.com/, "Signature scheme").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh endpoint secret (24 to 64 bytes, as the specification asks: 32)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def key_of(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>``: the signature of one delivery with one secret."""
    digest = hmac.new(key_of(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(valid: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one signature per valid secret, space-separated."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in valid)


def headers(valid: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of a delivery."""
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(valid, msg_id, timestamp, body)}
