"""In production every line `chatserver serve` writes is JSON, so an operator can parse and
grep the whole log; sockets do not write a line each at info.

The server runs as a real child process with stdout and stderr kept apart, as a process
manager would see them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from chatserver.embedded_redis import EmbeddedRedis
from tests import client as cl
from tests.servers import SECRET

# The CLI's banner (cli._say) is its user-facing output on stdout, not a log line; see
# test_every_line_is_json for what it may contain.
BANNER = re.compile(r"^(chatserver listening on |  [a-z ()]+:)")


def start(tmp: Path, redis_url: str, port: int = 0) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "CHATSERVER_DATA_DIR": str(tmp),
        "CHATSERVER_SECRET_KEY": SECRET,
        "CHATSERVER_ENV": "production",
        "CHATSERVER_LOG_LEVEL": "info",
        "PYTHONUNBUFFERED": "1",
    }
    port_file = tmp / "port"
    port_file.unlink(missing_ok=True)
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--port-file", str(port_file)]
    return subprocess.Popen(
        [sys.executable, "-m", "chatserver", *args],
        cwd=tmp,
        env=env,
        stdout=(tmp / "stdout").open("wb"),
        stderr=(tmp / "stderr").open("wb"),
    )


def wait_ready(proc: subprocess.Popen[bytes], tmp: Path) -> int:
    deadline = time.monotonic() + 20
    port_file = tmp / "port"
    while time.monotonic() < deadline:
        assert proc.poll() is None, (tmp / "stderr").read_text()
        if port_file.exists() and port_file.read_text().strip():
            port = int(port_file.read_text())
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                    return port
            except OSError:
                pass
        time.sleep(0.05)
    raise AssertionError("the server did not start: " + (tmp / "stderr").read_text()[-2000:])


def lines(path: Path) -> list[str]:
    return [line for line in path.read_text(errors="replace").splitlines() if line.strip()]


def not_json(text_lines: list[str]) -> list[str]:
    bad = []
    for line in text_lines:
        try:
            rec: Any = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        if not isinstance(rec, dict) or "event" not in rec or "level" not in rec:
            bad.append(line)
    return bad


async def sockets(ws_url: str, port: int) -> None:
    """Visitors, and sockets the server turns down."""
    visitors = [(await cl.visitor(ws_url))[0] for _ in range(5)]
    agent = await cl.Client.connect(f"{ws_url}/ws/agent?token=not-a-session")
    await agent.expect("error")  # and a close
    dash = await cl.Client.connect(f"{ws_url}/ws/dashboard")
    await dash.expect("error")
    with pytest.raises(Exception, match="403"):
        await cl.Client.connect(f"{ws_url}/ws/no-such-socket")
    bad_frame = await cl.Client.connect(f"{ws_url}/ws/visitor?site=demo")
    await bad_frame.send("{not json")
    await bad_frame.expect("error")
    for c in (*visitors, agent, dash, bad_frame):
        await c.close()
    # Not HTTP at all: uvicorn answers it with a warning of its own.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"\x16\x03\x01 not http\r\n\r\n")
    await writer.drain()
    await reader.read()
    writer.close()


def test_every_line_is_json(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    proc = start(tmp_path, redis_server.url)
    try:
        port = wait_ready(proc, tmp_path)
        asyncio.run(sockets(f"ws://127.0.0.1:{port}", port))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    err, out = lines(tmp_path / "stderr"), lines(tmp_path / "stdout")
    events = [json.loads(line)["event"] for line in err if not not_json([line])]
    # The positive markers: the log is complete (uvicorn's last word and the hub's are there).
    assert "hub_started" in events and f"Finished server process [{proc.pid}]" in events
    assert "Invalid HTTP request received." in events
    assert not_json(err) == []
    # stdout holds the CLI's banner and nothing else that is not JSON.
    assert [line for line in not_json(out) if not BANNER.match(line)] == []
    # Ten sockets, and not one line about any of them at info.
    per_socket = [e for e in events if "WebSocket" in e or e.startswith("connection ")]
    assert per_socket == []


def test_a_failed_start_is_logged_as_json(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    """A port in use ends the process with an exception: a JSON line, not a bare traceback."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        proc = start(tmp_path, redis_server.url, port=taken.getsockname()[1])
        assert proc.wait(20) != 0
    finally:
        taken.close()
    err = lines(tmp_path / "stderr")
    assert err and not_json(err) == []
    assert any("Address already in use" in json.loads(line).get("exception", "") for line in err)
