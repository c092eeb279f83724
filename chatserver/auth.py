"""Passwords, agent sessions and signed visitor tokens."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import weakref
from collections.abc import Callable, Sequence
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("agent", "supervisor", "admin")

_hasher = PasswordHasher()
# A real hash to verify against when the email is unknown, so a wrong email and a wrong
# password take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """argon2id (memory-hard) with the library's recommended parameters."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# Hashing takes ~150 ms of CPU and 64 MiB: on the event loop it would stall every socket of
# the node for that long per sign-in. It runs on threads (argon2 releases the GIL), at most
# this many at once per process, so a burst of sign-ins (or of guesses) waits its turn
# instead of taking every core and all the memory.
HASH_SLOTS = 2
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
T = TypeVar("T")


async def off_loop(fn: Callable[..., T], *args: object) -> T:
    """Run a password hash or check on a worker thread, at most HASH_SLOTS at a time."""
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(HASH_SLOTS)
    async with slots:
        return await asyncio.to_thread(fn, *args)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return _b64(digest[:24])


def visitor_token(secret: str, site: str, visitor_id: str, now_s: int, ttl_s: int) -> str:
    """A token binding a visitor id to one site until ``now_s + ttl_s``.

    Format ``v1.<site b64>.<visitor id>.<expiry>.<signature>``; the signature covers all parts.
    """
    payload = f"v1.{_b64(site.encode())}.{visitor_id}.{now_s + ttl_s}"
    return f"{payload}.{_sign(secret, payload)}"


def verify_visitor_token(
    secret: str, token: str, site: str, now_s: int, old_secrets: Sequence[str] = ()
) -> str | None:
    """The visitor id if the token is genuine, unexpired and for ``site``; else None.

    A token signed with one of ``old_secrets`` (keys being rotated out) is genuine too; the
    welcome that answers it carries a token signed with ``secret``.
    """
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != "v1":
        return None
    payload = ".".join(parts[:4])
    signature = parts[4].encode()
    if not any(
        hmac.compare_digest(_sign(key, payload).encode(), signature)
        for key in (secret, *old_secrets)
    ):
        return None
    try:
        token_site = _unb64(parts[1]).decode()
        expiry = int(parts[3])
    except (ValueError, UnicodeDecodeError):
        return None
    if token_site != site or expiry < now_s:
        return None
    return parts[2]
