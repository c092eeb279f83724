"""The steady and idle scenarios against the Node.js baseline (bench/baselines/node_relay/).

The relay a JavaScript team would deploy: socket.io 4 with ``@socket.io/redis-adapter`` on
node-redis, the same semantics as the python-socketio relay (no storage, no acks), the same
wire protocol (Socket.IO v5 over Engine.IO v4), so the same simulated clients, pairing and
book (bench/baselines/socketio_steady.py) measure it. ``make bench`` installs its npm
packages from the registry (``npm ci`` in node_relay/, pinned by package-lock.json).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from bench.baselines.socketio_steady import RelayCluster, SocketIORig
from bench.cluster import HOST, BenchError, ServerNode

RELAY_DIR = Path(__file__).with_name("node_relay")
# The adapter's request channel: every relay process subscribes to it at start-up.
REQUEST_CHANNEL = "socket.io-request#/#"


def node_binary() -> str:
    """The ``node`` to run, or BenchError saying what to install."""
    found = shutil.which("node")
    if found is None:
        raise BenchError("the Node baseline needs Node.js 18 or newer on PATH (apt install nodejs)")
    if not (RELAY_DIR / "node_modules" / "socket.io").is_dir():
        raise BenchError(f"the Node baseline's packages are missing: npm ci --prefix {RELAY_DIR}")
    return found


class NodeRelayNode(ServerNode):
    """One Node relay process, in production mode as deployed."""

    def __init__(self, index: int, redis_url: str, data_dir: Path, env: dict[str, str]) -> None:
        super().__init__(index, redis_url, data_dir, {**env, "NODE_ENV": "production"})

    def command(self, port_file: Path) -> list[str]:
        return [
            node_binary(),
            str(RELAY_DIR / "relay.js"),
            "--host",
            HOST,
            "--redis-url",
            self.redis_url,
            "--port-file",
            str(port_file),
        ]


class NodeRelayCluster(RelayCluster):
    """redis-server (configured as for chatserver) plus N Node relay processes."""

    node_class = NodeRelayNode
    channel = REQUEST_CHANNEL

    def start(self) -> None:
        node_binary()  # fail before anything starts
        super().start()


class NodeRig(SocketIORig):
    """The python-socketio baseline's clients, against the Node relay."""

    protocol = "node-socketio"

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "title": "baseline Node.js socket.io 4 (@socket.io/redis-adapter)",
        }
