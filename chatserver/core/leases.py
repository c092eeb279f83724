"""Abuse limits as leases, in plain Python with the time passed in.

Every limit is "at most ``limit`` unexpired leases per subject". A rate limit ("30 messages a
minute") takes a lease that expires ``window`` after the event and is never given back, which
is an exact sliding window; a concurrency limit ("50 sockets per IP") takes a lease per socket,
renews it while the socket lives and gives it back when the socket closes, so a crashed
process's sockets stop counting once their leases run out.

``chatserver/lua/limit.lua`` (and the visitor's check inside ``send.lua``) apply the same rule
in Redis, atomically; this module is the reference the unit tests hold both to.
"""

from __future__ import annotations

from collections.abc import Iterable


def lease_wait(expiries: Iterable[int], now: int, limit: int) -> int:
    """Milliseconds until one more lease fits (0: it fits now).

    ``expiries`` are the expiry times of the leases held, in any order; those at or before
    ``now`` no longer count. With ``n`` live leases and room for ``limit``, the wait is until
    the ``(n - limit + 1)``-th earliest expires. ``limit`` must be at least 1 (a limit of 0
    means "off" to the callers, which then do not ask).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    live = sorted(e for e in expiries if e > now)
    if len(live) < limit:
        return 0
    return max(1, live[len(live) - limit] - now)


def retry_after_seconds(wait_ms: int) -> float:
    """A wait in ms as the ``retry_after`` a client is told (seconds, at least 1 ms)."""
    return max(wait_ms, 1) / 1000.0
