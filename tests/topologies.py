"""Redis topologies the tests start on loopback from Debian's redis-server (Redis 7, which the
Makefile installs): a Sentinel group of a primary, a replica and three sentinels."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from chatserver.embedded_redis import EmbeddedRedis, free_port

SERVICE = "chat"
DEBIAN_REDIS = "/usr/bin/redis-server"


def debian_redis() -> str | None:
    """Debian's redis-server, if installed (`make test` installs it)."""
    found = shutil.which("redis-server", path="/usr/bin:/usr/local/bin")
    return found if found else None


class Sentinels:
    """A primary, one replica and three sentinels (quorum 2) watching them as ``chat``."""

    def __init__(self, root: Path, binary: str) -> None:
        self.root, self.binary = root, binary
        self.primary = EmbeddedRedis(root / "primary", port=free_port(), binary=binary)
        self.replica = EmbeddedRedis(
            root / "replica",
            port=free_port(),
            binary=binary,
            extra_args=["--replicaof", "127.0.0.1", str(self.primary.port)],
        )
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    def start(self) -> None:
        self.primary.start()
        self.replica.start()
        for i, port in enumerate(self.sentinel_ports):
            d = self.root / f"sentinel{i}"
            d.mkdir(parents=True, exist_ok=True)
            conf = d / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {d}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 5000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            self.sentinels.append(
                subprocess.Popen(
                    [self.binary, str(conf), "--sentinel"],
                    stdin=subprocess.DEVNULL,
                    stdout=(d / "log").open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        self.wait_for_primary(self.primary.port)
        self.wait_for_replica()

    def primary_port(self) -> int | None:
        """The primary's port as the first sentinel that answers sees it."""
        for port in self.sentinel_ports:
            try:
                r = redis.Redis(port=port, socket_timeout=1, decode_responses=True)
                addr = r.execute_command("SENTINEL", "get-master-addr-by-name", SERVICE)
                r.close()
                if addr:
                    return int(addr[1])
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                continue
        return None

    def wait_for_primary(self, port: int, timeout: float = 30.0) -> None:
        """Until every sentinel names ``port`` as the primary."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = set()
            for s in self.sentinel_ports:
                try:
                    r = redis.Redis(port=s, socket_timeout=1, decode_responses=True)
                    addr = r.execute_command("SENTINEL", "get-master-addr-by-name", SERVICE)
                    r.close()
                    seen.add(int(addr[1]) if addr else None)
                except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                    seen.add(None)
            if seen == {port}:
                return
            time.sleep(0.1)
        raise AssertionError(f"the sentinels never agreed on {port} as the primary")

    def wait_for_replica(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        r = redis.Redis(port=self.primary.port, socket_timeout=1, decode_responses=True)
        try:
            while time.monotonic() < deadline:
                info = r.info("replication")
                if (
                    info.get("connected_slaves", 0) >= 1
                    and info.get("slave0", {}).get("state") == "online"
                ):
                    return
                time.sleep(0.1)
        finally:
            r.close()
        raise AssertionError("the replica never came online")

    def stop(self) -> None:
        for proc in self.sentinels:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.replica.kill()
        self.primary.kill()
