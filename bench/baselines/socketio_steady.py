"""The steady scenario against the python-socketio baseline (bench/baselines/socketio_relay.py).

Same Redis set-up, same number of server processes, same pacer, rates, durations, latency
clock and lost/duplicate book as chatserver's run (bench/steady.py); only the clients' protocol
and the pairing differ. Socket.IO has no queue, so the generator assigns conversations
statically: visitor i talks with agent i % A. Agents connect to alternating processes; visitor
i goes to process (i + i // A) % N, so that, as with chatserver's queue, about half of the
conversations have their two sides on different processes (with N = 2; the share is in the
result). Every emit is published on Redis by AsyncRedisManager whichever process the room's
members are on.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.baselines import socketio_relay
from bench.baselines.socketio_peers import SioAgent, SioVisitor
from bench.cluster import HOST, Cluster, ServerNode
from bench.steady import SteadyRig


class RelayNode(ServerNode):
    """One baseline relay process."""

    def command(self, port_file: Path) -> list[str]:
        # Run by path: the server's working directory is its data directory, and the relay
        # imports nothing from this repository.
        return [
            sys.executable,
            socketio_relay.__file__,
            "--host",
            HOST,
            "--redis-url",
            self.redis_url,
            "--port-file",
            str(port_file),
        ]


class RelayCluster(Cluster):
    """redis-server (configured as for chatserver) plus N baseline relay processes."""

    node_class: type[ServerNode] = RelayNode
    # The channel every relay process subscribes to at start-up.
    channel = socketio_relay.CHANNEL

    def start(self) -> None:
        super().start()
        asyncio.run(self._wait_subscribed())

    async def _wait_subscribed(self, timeout: float = 10.0) -> None:
        """Every process listens on the channel before any client connects."""
        client = aioredis.Redis.from_url(self.redis.url)
        try:
            for _ in range(int(timeout / 0.05)):
                counts = dict(await client.pubsub_numsub(self.channel))
                if counts.get(self.channel.encode(), 0) >= len(self.nodes):
                    return
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        raise RuntimeError("the relay processes did not subscribe to Redis")


class SocketIORig(SteadyRig):
    """Clients for the baseline: static pairing, no accounts, no acks."""

    protocol = "python-socketio"
    acks = False
    cross = 0  # conversations whose visitor and agent are on different processes

    async def prepare(self) -> None:
        """Nothing to set up on the server side: socket.io keeps no accounts."""

    async def connect(self) -> float:
        cfg, tracker, nodes = self.cfg, self.tracker, self.nodes
        n, a = len(nodes), cfg.agents
        agents = [SioAgent(i, tracker, nodes, i % n) for i in range(a)]
        visitors = [
            SioVisitor(i, tracker, nodes, (i + i // a) % n, i % a) for i in range(cfg.visitors)
        ]
        for v in visitors:
            agents[v.agent].conversations.append(v.conv_id)
        self.cross = sum(1 for v in visitors if v.node != agents[v.agent].node)
        return await self.open_peers(agents, visitors)

    def warm(self) -> bool:
        return self.tracker.settled()

    def cold(self) -> str:
        t = self.tracker
        return f"{t.created - t.delivered} messages undelivered, {t.created - t.echoed} not echoed"

    def describe(self) -> dict[str, Any]:
        return {
            "title": "baseline python-socketio (AsyncRedisManager)",
            "protocol": self.protocol,
            "cross_process_conversations": self.cross,
            "semantics": "relay only: no storage, no ids, no acks, no resume",
        }
