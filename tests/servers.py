"""Real servers for tests: redis-server and `chatserver serve` processes on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatserver.auth import hash_password
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.store import Store

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-secret-" + "x" * 40

# Hashing is deliberately slow; tests make many agents with the same password.
_HASHES: dict[str, str] = {}


def report(line: str) -> None:
    """Print a test's counts (shown with `pytest -s`; the issue asks tests to report them)."""
    sys.stdout.write(line + "\n")


def password_hash(password: str) -> str:
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


def run_async(coro: Any) -> Any:
    """Run a coroutine to completion from sync or async test code (in its own thread)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


class ServerProcess:
    """One `chatserver serve` child process."""

    def __init__(self, redis_url: str, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.redis_url = redis_url
        self.data_dir = data_dir
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log_path = data_dir / f"server-{secrets.token_hex(3)}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port_file = self.data_dir / f"port-{secrets.token_hex(4)}"
        env = {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "CHATSERVER_DATA_DIR": str(self.data_dir),
            "CHATSERVER_SECRET_KEY": SECRET,
            "CHATSERVER_LOG_LEVEL": "info",
            "CHATSERVER_ENV": "production",  # JSON logs: tests scan them
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chatserver",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                # 0 the first time; a restarted process keeps its port, as a real one would.
                str(self.port),
                "--port-file",
                str(port_file),
            ],
            cwd=self.data_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            if port_file.exists() and port_file.read_text().strip():
                self.port = int(port_file.read_text())
                try:
                    with urllib.request.urlopen(self.base_url + "/readyz", timeout=1) as resp:
                        if resp.status == 200:
                            return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def crashes(self) -> list[str]:
        """Log lines that show an unhandled exception or an error-level event."""
        bad = []
        for line in self.log_text().splitlines():
            if "Traceback" in line:
                bad.append(line)
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("level") in ("error", "critical", "exception"):
                bad.append(line)
        return bad


class LiveServer:
    """What tests see: one or more server processes on one Redis, plus helpers."""

    def __init__(self, redis: EmbeddedRedis, data_dir: Path) -> None:
        self.redis = redis
        self.redis_url = redis.url
        self.data_dir = data_dir
        self.nodes: list[ServerProcess] = []

    def start_node(self, env: dict[str, str] | None = None) -> ServerProcess:
        node = ServerProcess(self.redis_url, self.data_dir, env)
        node.start()
        self.nodes.append(node)
        return node

    @property
    def base_url(self) -> str:
        return self.nodes[0].base_url

    @property
    def ws_url(self) -> str:
        return self.nodes[0].ws_url

    def add_agent(
        self,
        email: str,
        password: str = "password123",
        name: str = "Agent",
        capacity: int = 3,
        role: str = "agent",
        site: str = "demo",
        departments: str = "",
    ) -> str:
        async def run() -> str:
            store = Store.from_url(self.redis_url)
            try:
                return await store.create_agent(
                    email,
                    name,
                    password_hash(password),
                    site=site,
                    role=role,
                    capacity=capacity,
                    departments=[d for d in departments.split(",") if d],
                )
            finally:
                await store.close()

        agent_id: str = run_async(run())
        return agent_id

    def login(self, email: str, password: str = "password123", base: str | None = None) -> str:
        """A session token, from node ``base`` (the first node's URL by default)."""
        req = urllib.request.Request(
            (base or self.base_url) + "/api/login",
            data=json.dumps({"email": email, "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            token: str = json.loads(resp.read())["token"]
            return token

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@contextlib.contextmanager
def in_process_server(app: Any) -> Iterator[str]:
    """Serve ``app`` (e.g. ``create_app(..., clock=...)``) with uvicorn on a thread of this
    process, so a test can set the server's clock; yields the base URL."""
    import uvicorn

    from chatserver.embedded_redis import free_port

    port = free_port()
    from chatserver.config import Settings
    from chatserver.ws_protocol import uvicorn_ws_options

    ws = uvicorn_ws_options(Settings().max_frame_bytes)  # as `chatserver serve` runs it
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on", **ws)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the in-process server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
