"""The system under test: one redis-server and N `chatserver serve` processes on 127.0.0.1.

Everything here is started by the generator and killed by :meth:`Cluster.stop`, which the CLI
calls in a ``finally`` (also on Ctrl-C). Server children get SIGKILL from the kernel if the
generator itself dies (PR_SET_PDEATHSIG), so nothing outlives a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from chatserver.auth import hash_password
from chatserver.embedded_redis import EmbeddedRedis, free_port
from chatserver.store import Store

HOST = "127.0.0.1"
SECRET = "bench-secret-" + "x" * 40
PASSWORD = "bench-password-1"
SITE = "demo"
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (children inherit it); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


@dataclass(frozen=True, slots=True)
class ProcStat:
    cpu: float  # user + system seconds
    rss_kb: int


def proc_stat(pid: int) -> ProcStat:
    """CPU seconds and resident memory of a live process, from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rpartition(")")[2].split()
    # After the command name: state is field 3, utime 14, stime 15, rss 24 (1-based).
    utime, stime, rss_pages = int(fields[11]), int(fields[12]), int(fields[21])
    return ProcStat((utime + stime) / _CLK_TCK, rss_pages * _PAGE_KB)


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ServerNode:
    """One `python -m chatserver serve` child."""

    def __init__(self, index: int, redis_url: str, data_dir: Path, env: dict[str, str]) -> None:
        self.index = index
        self.redis_url = redis_url
        self.data_dir = data_dir
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log_path = data_dir / "server.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def spawn(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port_file = self.data_dir / "port"
        env = {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "CHATSERVER_DATA_DIR": str(self.data_dir),
            "CHATSERVER_SECRET_KEY": SECRET,
            "CHATSERVER_ENV": "production",
            "CHATSERVER_LOG_LEVEL": "warning",
            "CHATSERVER_FRAMES_PER_SECOND": "100000",
            "CHATSERVER_FRAME_BURST": "100000",
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(port_file),
                cwd=self.data_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def command(self, port_file: Path) -> list[str]:
        """The server's command line: it listens on a free port and writes it to port_file."""
        return [
            sys.executable,
            "-m",
            "chatserver",
            "serve",
            "--host",
            HOST,
            "--port",
            "0",
            "--port-file",
            str(port_file),
        ]

    def wait_ready(self, timeout: float = 30.0) -> None:
        assert self.proc is not None
        port_file = self.data_dir / "port"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server {self.index} exited: {self.log_tail()}")
            text = port_file.read_text().strip() if port_file.exists() else ""
            if text:
                self.port = int(text)
                with (
                    contextlib.suppress(OSError),
                    urllib.request.urlopen(self.base_url + "/readyz", timeout=1) as resp,
                ):
                    if resp.status == 200:
                        return
            time.sleep(0.05)
        raise RuntimeError(f"server {self.index} did not start: {self.log_tail()}")

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def log_summary(self) -> dict[str, Any]:
        """Counts of warning/error events in the JSON log, and the first few bad lines."""
        counts: Counter[str] = Counter()
        bad: list[str] = []
        if not self.log_path.exists():
            return {"events": {}, "errors": []}
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                if "Traceback" in line or "Error" in line:
                    counts["unstructured_error"] += 1
                    if len(bad) < 5:
                        bad.append(line[:500])
                continue
            if not isinstance(rec, dict):
                continue
            level = str(rec.get("level", ""))
            counts[f"{level}:{rec.get('event', '?')}"] += 1
            if level in ("error", "critical", "exception") and len(bad) < 5:
                bad.append(line[:500])
        return {"events": dict(counts), "errors": bad}


class Cluster:
    """A redis-server plus ``servers`` chatserver processes, all in a temporary directory."""

    node_class = ServerNode

    def __init__(self, servers: int, keep_data: bool = False, durability: str = "disk") -> None:
        self.n_servers = servers
        self.keep_data = keep_data
        # As `make run` would: disk fsyncs before every reply, memory every second.
        self.durability = durability
        self.root = Path(tempfile.mkdtemp(prefix="chatbench-"))
        self.redis = EmbeddedRedis(
            self.root / "redis",
            port=free_port(),
            appendonly=True,
            fsync="always" if durability == "disk" else "everysec",
        )
        self.nodes: list[ServerNode] = []

    @property
    def redis_pid(self) -> int:
        assert self.redis.process is not None
        return self.redis.process.pid

    def start(self) -> None:
        self.redis.start()
        self.nodes = [
            self.node_class(
                i,
                self.redis.url,
                self.root / f"server{i}",
                {"CHATSERVER_DURABILITY": self.durability},
            )
            for i in range(self.n_servers)
        ]
        for node in self.nodes:  # start them together: each takes a second or two to import
            node.spawn()
        for node in self.nodes:
            node.wait_ready()

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()
        with contextlib.suppress(Exception):
            self.redis.kill()
        if not self.keep_data:
            shutil.rmtree(self.root, ignore_errors=True)

    def server_stats(self) -> list[ProcStat]:
        return [proc_stat(node.pid) for node in self.nodes]

    def redis_stat(self) -> ProcStat:
        return proc_stat(self.redis_pid)

    def log_summaries(self) -> list[dict[str, Any]]:
        return [node.log_summary() for node in self.nodes]

    # --- data set-up ----------------------------------------------------------------------
    async def create_agents(self, count: int, capacity: int) -> list[str]:
        """Create ``count`` agent accounts directly in Redis; returns their emails."""
        pw_hash = await asyncio.to_thread(hash_password, PASSWORD)
        store = Store.from_url(self.redis.url)
        emails = [f"agent{i}@bench.test" for i in range(count)]
        try:
            for i, email in enumerate(emails):
                await store.create_agent(email, f"Agent {i}", pw_hash, site=SITE, capacity=capacity)
        finally:
            await store.close()
        return emails

    def _login(self, node: ServerNode, email: str) -> str:
        req = urllib.request.Request(
            node.base_url + "/api/login",
            data=json.dumps({"email": email, "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            token: str = json.loads(resp.read())["token"]
            return token

    async def login_all(self, emails: list[str]) -> list[str]:
        """POST /api/login for every agent (spread over the nodes); returns bearer tokens."""
        sem = asyncio.Semaphore(4)

        async def one(i: int, email: str) -> str:
            async with sem:
                node = self.nodes[i % len(self.nodes)]
                return await asyncio.to_thread(self._login, node, email)

        return list(await asyncio.gather(*(one(i, e) for i, e in enumerate(emails))))

    async def redis_counters(self) -> dict[str, int]:
        """Redis's own counters: commands (those run inside scripts included), EVALSHA calls
        and time, and socket reads (one per request batch a client sends: ~ round trips)."""
        client = aioredis.Redis.from_url(self.redis.url)
        try:
            stats = await client.info("stats")
            cmds = await client.info("commandstats")
        finally:
            await client.aclose()
        evalsha = cmds.get("cmdstat_evalsha", {})
        return {
            "total_commands": int(stats.get("total_commands_processed", 0)),
            "reads": int(stats.get("total_reads_processed", 0)),
            "evalsha_calls": int(evalsha.get("calls", 0)) if isinstance(evalsha, dict) else 0,
            "evalsha_usec": int(evalsha.get("usec", 0)) if isinstance(evalsha, dict) else 0,
        }

    async def conversations(self, conv_ids: list[str]) -> list[dict[str, str]]:
        store = Store.from_url(self.redis.url)
        try:
            return await store.get_conversations(SITE, conv_ids)
        finally:
            await store.close()


def new_run_id() -> str:
    return secrets.token_hex(3)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Resource counters of the whole system at one instant."""

    t: float
    servers: list[ProcStat]
    redis: ProcStat
    counters: dict[str, int]
    gen_cpu: float


async def snapshot(cluster: Cluster) -> Snapshot:
    counters = await cluster.redis_counters()
    return Snapshot(
        time.perf_counter(), cluster.server_stats(), cluster.redis_stat(), counters, self_cpu()
    )


def gen_rss_kb() -> int:
    return proc_stat(os.getpid()).rss_kb


class BenchError(RuntimeError):
    """The run could not reach the state it measures (start-up, warm-up): nothing to report."""
