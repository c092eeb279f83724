"""Redis topologies the tests start on loopback from Debian's redis-server (Redis 7, which the
Makefile installs): a Sentinel group of a primary, a replica and three sentinels, and a Redis
Cluster of three primaries with one replica each."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from redis.cluster import ClusterNode

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


def _cluster_port() -> int:
    """A free port Redis accepts for a cluster node (it refuses ports past 55535)."""
    while True:
        port = free_port()
        if port <= 55535:
            return port


class RedisCluster:
    """Three primaries with ``replicas`` replicas each (``redis-cli --cluster create``), every
    node on a free loopback port, started from ``binary``; the cluster keeps serving the slots
    it still covers when a shard is down (``cluster-require-full-coverage no``)."""

    SHARDS = 3

    def __init__(self, root: Path, binary: str, replicas: int = 1) -> None:
        self.root, self.binary, self.replicas = root, binary, replicas
        self.nodes = [
            EmbeddedRedis(
                root / f"node{i}",
                port=_cluster_port(),
                binary=binary,
                appendonly=False,
                extra_args=[
                    # Its own bus port: the default (port + 10000) may be taken or past 65535.
                    "--cluster-port",
                    str(free_port()),
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(root / f"node{i}" / "nodes.conf"),
                    "--cluster-node-timeout",
                    "2000",
                    "--cluster-require-full-coverage",
                    "no",
                ],
            )
            for i in range(self.SHARDS * (1 + replicas))
        ]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[: self.SHARDS])
        return f"redis+cluster://{hosts}"

    def ports(self) -> list[int]:
        return [n.port for n in self.nodes if n.port is not None]

    def start(self, timeout: float = 60.0) -> None:
        cli = shutil.which("redis-cli", path=str(Path(self.binary).parent))
        if cli is None:
            raise RuntimeError(f"redis-cli is not installed beside {self.binary}")
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in self.ports()),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                raise AssertionError("the cluster never reached cluster_state:ok on every node")
            time.sleep(0.1)

    def subscribed(self) -> list[tuple[EmbeddedRedis, str]]:
        """The nodes some client holds a pub/sub connection to, each with its role."""
        found = []
        for node, client in zip(self.nodes, self._clients(), strict=True):
            try:
                if client.client_list(_type="pubsub"):
                    found.append((node, str(client.info("replication").get("role"))))
            except (redis.ConnectionError, redis.TimeoutError):
                continue
            finally:
                client.close()
        return found

    def ready(self) -> bool:
        """Every node says cluster_state:ok and knows every node, three of them primaries
        serving slots, and each replica's link to its primary is up."""
        replicas = 0
        for client in self._clients():
            try:
                info = str(client.execute_command("CLUSTER", "INFO"))
                replication = client.info("replication")
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                return False
            finally:
                client.close()
            fields = dict(line.split(":", 1) for line in info.split() if ":" in line)
            if (
                fields.get("cluster_state") != "ok"
                or fields.get("cluster_known_nodes") != str(len(self.nodes))
                or fields.get("cluster_size") != str(self.SHARDS)
            ):
                return False
            if replication.get("role") == "slave":
                if replication.get("master_link_status") != "up":
                    return False
                replicas += 1
        return replicas == self.SHARDS * self.replicas

    def _clients(self) -> Iterator[redis.Redis]:
        for port in self.ports():
            yield redis.Redis(port=port, socket_timeout=1, decode_responses=True)

    def client(self) -> redis.RedisCluster:
        """A synchronous cluster client, for tests that look at what the server stored."""
        nodes = [ClusterNode("127.0.0.1", port) for port in self.ports()]
        return redis.RedisCluster(startup_nodes=nodes, decode_responses=True)

    def primary_of(self, key: str) -> EmbeddedRedis:
        """The node that serves ``key``'s slot now."""
        client = self.client()
        try:
            port = int(client.get_node_from_key(key).port)
        finally:
            client.close()
        return next(n for n in self.nodes if n.port == port)

    def flush(self) -> None:
        """Empty every primary (the replicas follow); the loaded scripts stay."""
        for client in self._clients():
            try:
                if client.info("replication").get("role") == "master":
                    client.flushall()
            finally:
                client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()
