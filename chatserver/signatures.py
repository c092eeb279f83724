"""Webhook request signatures (docs/webhooks.md shows how a receiver checks them).

``Chatserver-Signature: v1=<hex>``, the HMAC-SHA256 with the endpoint's secret of
``<Chatserver-Timestamp>.<raw body>``. The timestamp (seconds) is signed too, so a receiver
that refuses old timestamps refuses replayed requests.
"""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), header)
