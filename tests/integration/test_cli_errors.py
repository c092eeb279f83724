"""The CLI against a Redis that is not there: one line saying so (the password hidden), exit
status 1, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from chatserver.cli import redacted


def test_a_password_in_the_url_is_hidden() -> None:
    assert redacted("redis://u:secret@10.0.0.1:6379/0") == "redis://u:***@10.0.0.1:6379/0"
    assert redacted("redis+cluster://:p%40ss@a:7000,b:7000") == "redis+cluster://:***@a:7000,b:7000"
    assert redacted("redis://10.0.0.1:6379/0") == "redis://10.0.0.1:6379/0"
    assert redacted("redis://user@host:1") == "redis://user@host:1"


def test_an_unreachable_redis_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://ops:hunter2@127.0.0.1:{port}/0"
    env = {**os.environ, "REDIS_URL": url, "CHATSERVER_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "chatserver", "site", "add", "shop", "--name", "Shop"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(
        f"chatserver: cannot reach Redis at redis://ops:***@127.0.0.1:{port}/0"
    )
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr
