"""The one place Redis clients are made, for the store, the bus and the CLI alike, from what
``REDIS_URL`` names (chatserver.redis_url): one Redis, or the primary a Sentinel group points
at (found again after a failover: a connection to a primary that became a replica is dropped
on its first READONLY answer and the next one goes to the new primary)."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff

from chatserver.redis_url import RedisTarget, parse_redis_url


def _retry() -> Retry:
    # A couple of quick retries (a pooled connection that died with a Redis restart), then the
    # error: the client hears `unavailable` within a second and resends, rather than wait out
    # a long backoff.
    return Retry(ExponentialBackoff(cap=0.25, base=0.025), 2)


def redis_client(
    url: str,
    *,
    decode: bool = True,
    max_connections: int = 64,
    socket_timeout: float | None = 10,
) -> aioredis.Redis:
    """A client of the Redis ``url`` names (see chatserver.redis_url). One Redis gets a
    blocking pool: a burst of callers waits for a free connection instead of failing."""
    target = parse_redis_url(url)
    if target.kind == "sentinel":
        return _sentinel_primary(target, decode, max_connections, socket_timeout)
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        retry=_retry(),
        decode_responses=decode,
        max_connections=max_connections,
        timeout=10,
        health_check_interval=15,
        socket_connect_timeout=5,
        socket_timeout=socket_timeout,
    )
    return aioredis.Redis(connection_pool=pool)


def _sentinel_primary(
    target: RedisTarget, decode: bool, max_connections: int, socket_timeout: float | None
) -> aioredis.Redis:
    sentinel_kwargs: dict[str, Any] = {"socket_connect_timeout": 2, "socket_timeout": 2}
    if target.sentinel_password:
        sentinel_kwargs["password"] = target.sentinel_password
    if target.tls:
        sentinel_kwargs["ssl"] = True
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels),
        sentinel_kwargs=sentinel_kwargs,
        socket_connect_timeout=5,
        socket_timeout=socket_timeout,
        health_check_interval=15,
        retry=_retry(),
    )
    client: aioredis.Redis = sentinel.master_for(
        target.service,
        redis_class=aioredis.Redis,
        decode_responses=decode,
        db=target.db,
        username=target.username,
        password=target.password,
        ssl=target.tls,
        max_connections=max_connections,
    )
    return client
