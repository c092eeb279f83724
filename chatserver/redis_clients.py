"""The one place Redis clients are made, for the store, the bus and the CLI alike, from what
``REDIS_URL`` names (chatserver.redis_url): one Redis, the primary a Sentinel group points
at (found again after a failover: a connection to a primary that became a replica is dropped
on its first READONLY answer and the next one goes to the new primary), or a Redis Cluster
(each command sent to the primary of its key's slot; one site's keys share one slot).

The bus does not use the cluster client: classic pub/sub on a cluster reaches every node, so
:func:`pubsub_client` connects to one node and moves to the next when that one fails."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
from collections.abc import Iterator
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.cluster import REPLICA
from redis.exceptions import (
    AskError,
    CrossSlotTransactionError,
    ExecAbortError,
    MovedError,
    RedisError,
)
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)

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
    """A client of the Redis ``url`` names (see chatserver.redis_url). Its pool blocks: a
    burst of callers waits for a free connection instead of failing. For a cluster this is a
    :class:`WaitingCluster` (typed as a Redis: the store speaks the commands both share)."""
    target = parse_redis_url(url)
    if target.kind == "cluster":
        cluster: Any = _cluster(target, decode, max_connections, socket_timeout)
        return cluster  # type: ignore[no-any-return]
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


def is_cluster(client: object) -> bool:
    """Whether ``client`` (from :func:`redis_client`) speaks to a Redis Cluster."""
    return isinstance(client, RedisCluster)


# Set while a call holds one of its client's permits, so a command the call itself issues
# (a pipeline resends a MOVED command on its own) does not wait for a second permit.
_holding: contextvars.ContextVar[bool] = contextvars.ContextVar("cluster_permit", default=False)


class WaitingCluster(RedisCluster):
    """A cluster client whose callers wait for a permit instead of failing.

    redis-py's cluster nodes raise MaxConnectionsError when their pool is full (there is no
    blocking pool for a cluster). Each call (a command, or a pipeline, which holds at most one
    connection per node) takes one of ``permits``; with permits no more than each node's pool,
    no node's pool can run out, so a burst waits as it does on one Redis.
    """

    def __init__(
        self, *args: Any, permits: int, node_kwargs: dict[str, Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.permits = asyncio.Semaphore(permits)
        self._node_kwargs = node_kwargs
        self._node_clients: dict[str, aioredis.Redis] = {}

    def node_client(self, node: ClusterNode) -> aioredis.Redis:
        """A plain client of one node (a small blocking pool of its own), for MULTI."""
        client = self._node_clients.get(node.name)
        if client is None:
            pool = aioredis.BlockingConnectionPool(
                host=node.host, port=node.port, max_connections=8, timeout=10, **self._node_kwargs
            )
            client = self._node_clients[node.name] = aioredis.Redis(connection_pool=pool)
        return client

    async def aclose(self) -> None:
        clients, self._node_clients = list(self._node_clients.values()), {}
        for client in clients:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose(close_connection_pool=True)
        await super().aclose()

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        with _dead_transport():
            if _holding.get():
                return await super().execute_command(*args, **kwargs)
            async with self.permits:
                token = _holding.set(True)
                try:
                    return await super().execute_command(*args, **kwargs)
                finally:
                    _holding.reset(token)

    def pipeline(
        self, transaction: Any | None = None, shard_hint: Any | None = None
    ) -> ClusterPipeline:
        if shard_hint:
            return super().pipeline(transaction, shard_hint)
        if transaction:
            slot: Any = SlotTransaction(self)
            return slot  # type: ignore[no-any-return]
        return WaitingPipeline(self, transaction)  # type: ignore[abstract]


@contextlib.contextmanager
def _dead_transport() -> Iterator[None]:
    """A write to a node's connection closed under it (redis-py's cluster client disconnects
    every connection of a node it gives up on, also one another call is using, as when the
    node is SIGKILLed in a failover) raises uvloop's ``RuntimeError('… the handler is
    closed')``, or an ``AttributeError`` on the connection's writer now ``None``, instead of a
    ``ConnectionError``. Every caller handles ``RedisError`` (the sender hears `unavailable`
    and resends); these ended a site's routing loop, a heartbeat and the webhook task (found by
    the cluster failover test). They are raised as what they are."""
    try:
        yield
    except (RuntimeError, AttributeError) as exc:
        text = str(exc)
        if "handler is closed" not in text and "'writelines'" not in text:
            raise
        raise RedisConnectionError(f"the connection closed under the call: {text}") from exc


class WaitingPipeline(ClusterPipeline):
    """A cluster pipeline that holds one of its client's permits while it runs."""

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        client = self.cluster_client
        with _dead_transport():
            if _holding.get() or not isinstance(client, WaitingCluster):
                return await super().execute(raise_on_error, allow_redirections)
            async with client.permits:
                token = _holding.set(True)
                try:
                    return await super().execute(raise_on_error, allow_redirections)
                finally:
                    _holding.reset(token)


class SlotTransaction:
    """``pipeline(transaction=True)`` on a cluster: MULTI/EXEC through a plain client of the
    primary that holds the commands' one slot (every command's first argument is its key).

    redis-py's own cluster transaction runs each queued command through a thread with its own
    event loop (blocking the server's loop, and failing outright on a client that has not
    connected yet). A queued command that meets MOVED or ASK aborts the whole EXEC, so nothing
    ran: the slot map is reloaded and the transaction sent once more."""

    def __init__(self, cluster: WaitingCluster) -> None:
        self._cluster = cluster
        self._calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def queue(*args: Any, **kwargs: Any) -> SlotTransaction:
            self._calls.append((name, args, kwargs))
            return self

        return queue

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        calls, self._calls = self._calls, []
        cluster = self._cluster
        await cluster.initialize()
        slots = {cluster.keyslot(args[0]) for _, args, _ in calls}
        if len(slots) != 1:
            raise CrossSlotTransactionError("a transaction's keys must share one hash slot")
        (slot,) = slots
        for attempt in range(2):
            node = cluster.nodes_manager.get_node_from_slot(slot)
            pipe = cluster.node_client(node).pipeline(transaction=True)
            for name, args, kwargs in calls:
                getattr(pipe, name)(*args, **kwargs)
            try:
                results: list[Any] = await pipe.execute(raise_on_error)
                return results
            except (MovedError, AskError, ExecAbortError):
                if attempt:
                    raise
                await cluster.nodes_manager.initialize()
        raise AssertionError("unreachable")


def _cluster(
    target: RedisTarget, decode: bool, max_connections: int, socket_timeout: float | None
) -> WaitingCluster:
    node_kwargs: dict[str, Any] = {
        "username": target.username,
        "password": target.password,
        "decode_responses": decode,
        "socket_connect_timeout": 5,
        "socket_timeout": socket_timeout,
        "health_check_interval": 15,
        "retry": _retry(),
    }
    if target.tls:
        node_kwargs["connection_class"] = aioredis.SSLConnection
    return WaitingCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in target.sentinels],
        permits=max_connections,
        node_kwargs=node_kwargs,
        # A little room above the permits for what runs beside them (pub/sub is elsewhere).
        max_connections=max_connections + 4,
        # A shard without a primary makes only its own slots fail: the other sites go on.
        require_full_coverage=False,
        retry=Retry(ExponentialBackoff(cap=0.25, base=0.025), 3),
        username=target.username,
        password=target.password,
        decode_responses=decode,
        socket_connect_timeout=5,
        socket_timeout=socket_timeout,
        health_check_interval=15,
        ssl=target.tls,
    )


async def pubsub_client(url: str, attempt: int = 0) -> aioredis.Redis:
    """A client for the bus's one pub/sub connection. On a cluster: classic PUBLISH, also from
    a script, reaches every node, so any node will do; this is candidate number ``attempt``
    (modulo) of the cluster's nodes as one of them lists them now, replicas first (they take
    the subscribers off the primaries; each process starts on another one), then the
    primaries, then the URL's own nodes. Each reconnection passes the
    next ``attempt``, so a dead node is left for the next one."""
    target = parse_redis_url(url)
    if target.kind != "cluster":
        return redis_client(url, decode=False, max_connections=4, socket_timeout=None)
    found = await _cluster_nodes(target)
    candidates = found + [node for node in target.sentinels if node not in found]
    host, port = candidates[attempt % len(candidates)]
    return aioredis.Redis(
        host=host,
        port=port,
        username=target.username,
        password=target.password,
        ssl=target.tls,
        decode_responses=False,
        socket_connect_timeout=5,
        socket_timeout=None,
        health_check_interval=15,
        retry=_retry(),
    )


async def _cluster_nodes(target: RedisTarget) -> list[tuple[str, int]]:
    """The cluster's nodes, replicas first, as the first reachable node lists them ([] when
    none answers)."""
    client = _cluster(target, False, 2, 5)
    try:
        await client.initialize()
        nodes = client.get_nodes()
    except (RedisError, OSError):
        return []
    finally:
        with contextlib.suppress(RedisError, OSError):
            await client.aclose()
    replicas = sorted((n.host, int(n.port)) for n in nodes if n.server_type == REPLICA)
    primaries = sorted((n.host, int(n.port)) for n in nodes if n.server_type != REPLICA)
    # Each process starts on a different replica, so the subscribers spread over them.
    turn = os.getpid() % len(replicas) if replicas else 0
    return replicas[turn:] + replicas[:turn] + primaries
