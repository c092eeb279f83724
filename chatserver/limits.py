"""Abuse limits that hold across processes: every count lives in Redis.

| limit | subject | default |
|---|---|---|
| messages | a visitor | 30 a minute (checked inside ``send.lua``: no extra round trip) |
| new conversations | a client IP | 5 per 10 minutes |
| open visitor sockets | a client IP | 50 at once |
| typing events | a visitor or agent | 120 a minute (checked by the script that publishes them) |
| sign-in attempts | an account, a client IP | 10 / 30 per 15 minutes (successes do not count) |

Each is a set of leases (:mod:`chatserver.core.leases`). A refusal is an ``error`` frame
``rate_limited`` with ``retry_after``; a socket refused ten times in a row is a flooder and
is closed with 4008 (the rule: :mod:`chatserver.core.flood`). Clients in
``CHATSERVER_LIMIT_EXEMPT`` (the host itself by default: the threat model trusts it) skip
these limits; the per-socket frame rate, frame size and message length apply to everyone.

The client IP is the socket's peer, or what ``X-Forwarded-For`` says when the peer is one of
``CHATSERVER_TRUSTED_PROXIES`` (uvicorn rewrites the ASGI scope; see ``cli.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address, ip_network
from typing import Any, NoReturn

from redis.exceptions import RedisError

from chatserver.close_codes import CloseCode
from chatserver.config import Settings
from chatserver.connection import Connection
from chatserver.core.leases import retry_after_seconds
from chatserver.events import Typing, encode
from chatserver.log import get_logger
from chatserver.protocol import ProtocolError
from chatserver.store import Store

log = get_logger(__name__)

# An open socket's lease lasts this long and is renewed a third of the way through, so the
# sockets of a process that died stop counting within two minutes.
SOCKET_LEASE_MS = 120_000
MINUTE_MS = 60_000

_members = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Lease:
    key: str
    member: str


class Limits:
    """The abuse limits of one process. ``clock`` returns Unix milliseconds."""

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int]) -> None:
        self.store = store
        self.s = settings
        self.clock = clock
        self.exempt_networks = [ip_network(n) for n in settings.limit_exempt.split()]
        self._exempt_seen: dict[str, bool] = {}  # address -> exempt (see exempt())
        self.trusted_proxies = bool(settings.trusted_proxies)
        self.node = secrets.token_hex(4)
        self.sockets: dict[str, Lease] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._warned_proxy = False

    # --- who is asking --------------------------------------------------------------------
    def client_ip(self, scope: Any, headers: Any = None) -> str:
        """The client's IP from the ASGI scope (uvicorn has applied a trusted proxy's
        X-Forwarded-For already); ``headers`` only serve a one-time hint to the operator."""
        client = scope.get("client")
        try:
            ip = str(ip_address(client[0])) if client else "unknown"
        except ValueError:
            ip = "unknown"  # a proxy's header that is not an address
        if (
            headers is not None
            and not self.trusted_proxies
            and not self._warned_proxy
            and headers.get("x-forwarded-for")
            and self.exempt(ip)
        ):
            self._warned_proxy = True
            log.warning(
                "proxy_not_trusted",
                hint="requests carry X-Forwarded-For from an exempt address: set "
                "CHATSERVER_TRUSTED_PROXIES so that limits per IP see the real clients",
            )
        return ip

    def exempt(self, ip: str) -> bool:
        # Asked for every message a visitor sends: parsing the address each time showed in
        # the profile at saturation (about 1% of a node's CPU), and a node sees few addresses.
        known = self._exempt_seen.get(ip)
        if known is None:
            try:
                addr = ip_address(ip)
            except ValueError:
                known = False
            else:
                known = any(addr in net for net in self.exempt_networks)
            if len(self._exempt_seen) >= 10_000:
                self._exempt_seen.clear()
            self._exempt_seen[ip] = known
        return known

    def _member(self) -> str:
        return f"{self.node}:{next(_members)}"

    async def _take(
        self,
        limits: list[tuple[str, int, int]],
        member: str | None = None,
        publish: tuple[str, bytes] | None = None,
    ) -> tuple[int, int]:
        now = self.clock()
        return await self.store.take_lease(
            [(key, limit, now + span) for key, limit, span in limits],
            member or self._member(),
            now,
            publish,
        )

    # --- visitor sockets ------------------------------------------------------------------
    async def open_socket(self, ip: str) -> tuple[float, Lease | None]:
        """Count one more open visitor socket for ``ip``: (0, lease) when it may stay open,
        else (seconds to wait, None). Give the lease back with :meth:`close_socket`."""
        limit = self.s.limit_connections_per_ip
        if not limit or self.exempt(ip):
            return 0.0, None
        key, member = self.store.k.ip_limit("conns", ip), self._member()
        wait, _ = await self._take([(key, limit, SOCKET_LEASE_MS)], member)
        if wait:
            return retry_after_seconds(wait), None
        lease = Lease(key, member)
        self.sockets[member] = lease
        if self._renewer is None:
            self._renewer = asyncio.get_running_loop().create_task(self._renew())
        return 0.0, lease

    async def close_socket(self, lease: Lease | None) -> None:
        if lease is None:
            return
        self.sockets.pop(lease.member, None)
        with contextlib.suppress(RedisError, OSError):
            await self.store.release_lease(lease.key, lease.member)

    async def _renew(self) -> None:
        try:
            while self.sockets:
                await asyncio.sleep(SOCKET_LEASE_MS / 3000)
                held = [(lease.key, lease.member) for lease in self.sockets.values()]
                try:
                    await self.store.renew_leases(held, self.clock(), SOCKET_LEASE_MS)
                except (RedisError, OSError) as exc:
                    log.warning("socket_leases_not_renewed", error=type(exc).__name__)
        finally:
            self._renewer = None

    # --- per visitor and per IP -----------------------------------------------------------
    async def new_conversation(self, ip: str) -> float:
        """Seconds to wait before ``ip`` may open another conversation (0: now; counted)."""
        limit = self.s.limit_conversations_per_ip
        if not limit or self.exempt(ip):
            return 0.0
        key = self.store.k.ip_limit("convs", ip)
        wait, _ = await self._take([(key, limit, self.s.limit_conversations_window * 1000)])
        return retry_after_seconds(wait) if wait else 0.0

    def message_limit(self, ip: str) -> tuple[int, int] | None:
        """(messages, window ms) for ``send.lua`` to enforce on a visitor; None: no limit."""
        limit = self.s.limit_messages_per_minute
        if not limit or self.exempt(ip):
            return None
        return limit, MINUTE_MS

    async def publish_typing(self, site: str, sender_id: str, ip: str, event: Typing) -> float:
        """Publish a typing event unless its sender is over the typing limit; returns the
        seconds to wait when it is (nothing was published)."""
        limit = self.s.limit_typing_per_minute
        if not limit or self.exempt(ip):
            await self.store.publish(site, event)
            return 0.0
        key = self.store.k.sender_limit(site, "typing", sender_id)
        payload = encode(event)
        wait, _ = await self._take(
            [(key, limit, MINUTE_MS)], publish=(self.store.k.channel(site), payload)
        )
        return retry_after_seconds(wait) if wait else 0.0

    async def api_request(self, key_id: str) -> float:
        """Count one REST API request of a key; the seconds to wait when it is over
        ``CHATSERVER_LIMIT_API_PER_MINUTE`` (the request must be refused), else 0."""
        limit = self.s.limit_api_per_minute
        if not limit:
            return 0.0
        wait, _ = await self._take([(self.store.k.api_limit(key_id), limit, MINUTE_MS)])
        return retry_after_seconds(wait) if wait else 0.0

    # --- sign-in --------------------------------------------------------------------------
    async def login_attempt(self, email: str, ip: str) -> tuple[float, list[Lease]]:
        """Count a sign-in attempt against the account and the IP before the password is
        checked (so parallel guesses are counted too). Returns (seconds to wait, []) when
        refused, else (0, leases); give the leases back with :meth:`login_succeeded`."""
        window = self.s.limit_logins_window * 1000
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        limits = []
        if self.s.limit_logins_per_account:
            limits.append(
                (self.store.k.login_limit("acct", account), self.s.limit_logins_per_account, window)
            )
        if self.s.limit_logins_per_ip and not self.exempt(ip):
            limits.append((self.store.k.login_limit("ip", ip), self.s.limit_logins_per_ip, window))
        if not limits:
            return 0.0, []
        member = self._member()
        wait, _ = await self._take(limits, member)
        if wait:
            return retry_after_seconds(wait), []
        return 0.0, [Lease(key, member) for key, _, _ in limits]

    async def login_succeeded(self, leases: list[Lease]) -> None:
        """A successful sign-in does not count against anyone."""
        for lease in leases:
            with contextlib.suppress(RedisError, OSError):
                await self.store.release_lease(lease.key, lease.member)


def limited(what: str, wait_s: float, ref: str | None = None) -> ProtocolError:
    return ProtocolError(
        "rate_limited", f"too many {what}; retry later", ref=ref, retry_after=wait_s
    )


async def refuse(conn: Connection, wait_s: float, what: str, ref: str | None = None) -> NoReturn:
    """Refuse a request over an abuse limit: raises ``rate_limited`` with ``retry_after``;
    when that makes the socket a flooder (chatserver.core.flood) it is closed first (4008).
    A request that passes its limit must call ``conn.flood.limit_passed()``."""
    error = limited(what, wait_s, ref)
    if conn.flood.limit_refused():
        await close_flooder(conn, error)
    raise error


async def close_flooder(conn: Connection, error: ProtocolError) -> None:
    """Send ``error``, then close the socket with 4008 (the widget backs off for that)."""
    conn.log.warning("flood_disconnected", reason=error.message)
    conn.send(error.frame())
    await conn.flush(1.0)
    # Closed here rather than by a task: the endpoint may return at once after this.
    conn.closed = True
    with contextlib.suppress(Exception):
        await conn.ws.close(CloseCode.FLOOD)
