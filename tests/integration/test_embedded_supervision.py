"""`chatserver serve` without REDIS_URL supervises its embedded redis-server.

Found by an outside test: when the child died, the server stayed up serving nothing
(`/readyz` 503 forever, every send `unavailable`). Now it is restarted on the same data.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import urllib.error
import urllib.request
from pathlib import Path

from tests import client as cl
from tests.servers import ServerProcess, report


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


async def send_until_acked(v: cl.Client, client_id: str, text: str) -> dict[str, object]:
    for _ in range(300):
        await v.send({"type": "message", "client_id": client_id, "text": text})
        f = await v.expect(None, lambda f: f.get("type") in ("ack", "error"), timeout=30)
        if f["type"] == "ack":
            return f
        assert f["code"] == "unavailable", f
        await asyncio.sleep(0.1)
    raise AssertionError("never acknowledged after the restart")


async def test_a_killed_embedded_redis_is_restarted_on_the_same_data(tmp_path: Path) -> None:
    node = ServerProcess("", tmp_path / "server")  # no REDIS_URL: the embedded server
    node.start()
    try:
        pid_file = tmp_path / "server" / "redis" / "redis.pid"
        first_pid = int(pid_file.read_text())
        v, _ = await cl.visitor(node.ws_url)
        ack = await send_until_acked(v, "before", "stored before the crash")
        conv_id = ack["conversation_id"]
        # Killed right after the ack: in disk mode (the default) the ack meant fsynced.
        os.kill(first_pid, signal.SIGKILL)
        await send_until_acked(v, "after", "stored after the restart")
        assert int(pid_file.read_text()) != first_pid
        assert status(node.base_url + "/readyz") == 200
        assert status(node.base_url + "/healthz") == 200
        # A fresh socket replays the conversation: what was stored before the crash is there.
        again, welcome = await cl.visitor(node.ws_url, token=v.token)
        assert welcome["conversation"]["id"] == conv_id
        await again.expect("synced")
        texts = [f["text"] for f in again.of_type("message") if f.get("from") == "visitor"]
        assert texts == ["stored before the crash", "stored after the restart"]
        events = [json.loads(line) for line in node.log_text().splitlines() if line[:1] == "{"]
        assert [e["event"] for e in events].count("embedded_redis_restarted") == 1
        assert not node.crashes()
        report(f"embedded redis restarted; {len(texts)} messages kept")
        await again.close()
        await v.close()
    finally:
        node.stop()
