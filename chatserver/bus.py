"""The cross-node doorbell: one Redis pub/sub connection per process.

On a Redis Cluster that connection goes to one node (the next in REDIS_URL's list after each
failure): classic PUBLISH reaches every node of a cluster. Sharded pub/sub (SSUBSCRIBE per
site's slot, so one site's traffic stays on its shard) is a later step; see docs/scaling.md.

Pub/sub is only the doorbell; the streams are the truth. After a reconnect (Redis restarted,
or this subscriber was cut off for reading too slowly) the bus calls ``on_reconnect`` so the
hub re-reads every connection's streams from its cursor and fills any gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Coroutine
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chatserver.events import BadEvent, Event, decode
from chatserver.keys import Keys
from chatserver.log import get_logger
from chatserver.redis_clients import pubsub_client
from chatserver.tasks import Background

log = get_logger(__name__)

Handler = Callable[[str, Event], None]


class Bus:
    """Subscribes per site and hands each decoded event to ``handler(site, event)``.

    ``handler`` runs on the reader task and must not block; it schedules any I/O itself.
    """

    def __init__(
        self,
        url: str,
        keys: Keys,
        handler: Handler,
        on_reconnect: Callable[[], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self.url = url
        self.k = keys
        self.handler = handler
        self.on_reconnect = on_reconnect
        self._sites: set[str] = set()
        self._by_channel: dict[bytes, str] = {}
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._client: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self._resyncs = Background()
        self._attempt = 0  # connections tried so far: on a cluster, which node is next

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bus-reader")

    async def stop(self) -> None:
        self._closing = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._resyncs.stop()
        await self._teardown()

    async def subscribe(self, site: str, timeout: float = 10.0) -> None:
        """Return once this process receives the site's events (the subscription is confirmed).

        Callers that read a stream after this cannot miss an event published after the read.
        """
        fut = self._confirmed.get(site)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._confirmed[site] = fut
            self._sites.add(site)
            channel = self.k.channel(site)
            self._by_channel[channel.encode()] = site
            if self._connected.is_set() and self._pubsub is not None:
                # On failure the reader reconnects and subscribes every site again.
                with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                    await self._pubsub.subscribe(channel)
        await asyncio.wait_for(asyncio.shield(fut), timeout)

    async def _teardown(self) -> None:
        self._connected.clear()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None

    async def _connect(self) -> None:
        self._client = await pubsub_client(self.url, self._attempt)
        self._attempt += 1
        self._pubsub = self._client.pubsub(ignore_subscribe_messages=False)
        # A placeholder subscription keeps the connection in pub/sub mode with no sites yet.
        await self._pubsub.subscribe(f"{self.k.prefix}:bus:hello")
        for site in self._sites:
            await self._pubsub.subscribe(self.k.channel(site))
        self._connected.set()

    async def _run(self) -> None:
        delay = 0.05
        first = True
        while not self._closing:
            try:
                await self._connect()
                if not first:
                    log.info("bus_reconnected")
                    if self.on_reconnect is not None:
                        self._resyncs.spawn(self.on_reconnect(), name="bus-resync")
                first = False
                delay = 0.05
                await self._read_loop()
            except asyncio.CancelledError:
                raise
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning("bus_disconnected", error=str(exc))
            except Exception:
                log.exception("bus_failed")
            await self._teardown()
            # Unconfirm so a subscribe() during the outage waits for the new connection.
            for site, fut in list(self._confirmed.items()):
                if fut.done():
                    self._confirmed[site] = asyncio.get_running_loop().create_future()
            await asyncio.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)

    async def _read_loop(self) -> None:
        assert self._pubsub is not None
        while True:
            msg = await self._pubsub.get_message(timeout=None)
            if msg is None:
                continue
            kind = msg["type"]
            channel = msg["channel"]
            site = self._by_channel.get(channel)
            if site is None:
                continue
            if kind == b"subscribe" or kind == "subscribe":
                fut = self._confirmed.get(site)
                if fut is not None and not fut.done():
                    fut.set_result(None)
                continue
            if kind not in (b"message", "message"):
                continue
            try:
                event = decode(msg["data"])
            except BadEvent as exc:
                log.warning("bus_bad_event", site=site, error=str(exc))
                continue
            try:
                self.handler(site, event)
            except Exception:
                log.exception("bus_handler_failed", site=site, kind=event.KIND.value)
