"""Acknowledged means kept: Redis SIGKILLed (not shut down) under a steady chat, again and again.

In ``disk`` mode (the default; Redis fsyncs the append-only file before it replies) every
acknowledged message and every assignment a visitor was told of is there afterwards. The same
run in ``memory`` mode (``appendfsync everysec``) prints what it lost, so the two can be
compared; a SIGKILL leaves written pages in the kernel's cache, so the difference there shows
only when the machine itself goes down, which a test on one machine cannot do.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from chatserver.embedded_redis import EmbeddedRedis, free_port
from chatserver.keys import Keys
from tests import client as cl
from tests.servers import LiveServer, ServerProcess, report

K = Keys()
KILLS = 5
VISITORS = 6
# Senders resend at once after `unavailable`: no limit may refuse them meanwhile.
UNLIMITED = {
    "CHATSERVER_LIMIT_MESSAGES_PER_MINUTE": "0",
    "CHATSERVER_FRAMES_PER_SECOND": "1000",
    "CHATSERVER_FRAME_BURST": "1000",
}


class Sender:
    """A visitor who writes one message after another, resending each until acknowledged."""

    def __init__(self, ws_url: str, n: int) -> None:
        self.ws_url, self.n = ws_url, n
        self.acked: dict[str, str] = {}  # client id -> stored id
        self.conv_id = ""
        self.assigned = False
        self.stop = False
        self.unanswered = 0

    async def run(self) -> None:
        v, _ = await cl.visitor(self.ws_url)
        i = 0
        while not self.stop:
            cid = f"v{self.n}-{i}"
            while True:
                await v.send({"type": "message", "client_id": cid, "text": f"{self.n}/{i}"})
                try:
                    f = await v.expect(None, lambda f, cid=cid: _answers(f, cid), timeout=5)
                except AssertionError:
                    # No ack means not stored, as far as the client knows: resend (the
                    # protocol's rule; the client id keeps it from being stored twice).
                    self.unanswered += 1
                    continue
                if f["type"] == "ack":
                    self.acked[cid] = f["id"]
                    self.conv_id = f["conversation_id"]
                    break
                assert f["code"] in ("unavailable", "rate_limited"), f
                await asyncio.sleep(0.05)
            if v.of_type("assigned"):
                self.assigned = True
            i += 1
            await asyncio.sleep(0.02)
        await v.close()


def _answers(f: dict[str, object], cid: str) -> bool:
    """The ack of ``cid``, or an error about it (a refused frame's error names no ref)."""
    if f.get("type") == "ack":
        return f.get("client_id") == cid
    return f.get("type") == "error" and f.get("ref") in (cid, None)


async def chat_through_kills(
    ws_url: str, redis_url: str, kill: Callable[[], None], restarted: Callable[[], bool]
) -> tuple[int, int, int]:
    """(acknowledged, lost, assignments forgotten) after KILLS SIGKILLs of Redis under load."""
    rng = random.Random(3)
    senders = [Sender(ws_url, n) for n in range(VISITORS)]
    tasks = [asyncio.create_task(s.run()) for s in senders]
    for _ in range(KILLS):
        await asyncio.sleep(rng.uniform(0.6, 1.5))
        kill()
        for _ in range(600):
            if restarted():
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("Redis did not come back")
    await asyncio.sleep(1.0)
    for s in senders:
        s.stop = True
    await asyncio.gather(*tasks)
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        lost = forgotten = acked = 0
        for s in senders:
            stored = {
                f["c"]: mid for mid, f in r.xrange(K.messages("demo", s.conv_id)) if f.get("c")
            }
            acked += len(s.acked)
            lost += sum(1 for cid, mid in s.acked.items() if stored.get(cid) != mid)
            if s.assigned and not r.hget(K.conversation("demo", s.conv_id), "agent"):
                forgotten += 1
        resent = sum(s.unanswered for s in senders)
        report(f"crash: sends resent for want of an answer within 5 s: {resent}")
        return acked, lost, forgotten
    finally:
        r.close()


@pytest.mark.parametrize("mode", ["disk", "memory"])
async def test_redis_sigkilled_five_times_under_load(tmp_path: Path, mode: str) -> None:
    server = EmbeddedRedis(
        tmp_path / "redis", port=free_port(), fsync="always" if mode == "disk" else "everysec"
    )
    server.start()
    live = LiveServer(server, tmp_path / "server")
    try:
        live.start_node({"CHATSERVER_DURABILITY": mode, **UNLIMITED})
        live.add_agent("ann@example.com", name="Ann", capacity=VISITORS)
        agent, _ = await cl.agent(live.ws_url, live.login("ann@example.com"))

        def kill() -> None:
            server.kill()  # SIGKILL: no shutdown, no final fsync
            server.start()  # on the same data, as a supervisor would

        acked, lost, forgotten = await chat_through_kills(
            live.ws_url, server.url, kill, lambda: True
        )
        report(f"crash ({mode}): {KILLS} SIGKILLs, acknowledged {acked}, lost {lost}")
        assert acked > 50
        if mode == "disk":
            assert (lost, forgotten) == (0, 0)
        assert not live.nodes[0].crashes()
        await agent.close()
    finally:
        live.stop()
        server.kill()


async def test_the_embedded_redis_sigkilled_five_times_under_a_running_server(
    tmp_path: Path,
) -> None:
    node = ServerProcess("", tmp_path / "server", UNLIMITED)
    node.start()
    pid_file = tmp_path / "server" / "redis" / "redis.pid"
    sock = tmp_path / "server" / "redis" / "redis.sock"
    url = f"unix://{sock}" if len(str(sock.resolve())) <= 100 else ""
    try:
        pids: list[int] = []

        def kill() -> None:
            pids.append(int(pid_file.read_text()))
            os.kill(pids[-1], signal.SIGKILL)

        def restarted() -> bool:
            try:
                return int(pid_file.read_text()) != pids[-1]
            except (OSError, ValueError):
                return False

        if not url:
            pytest.skip("data directory path too long for a unix socket")
        acked, lost, forgotten = await chat_through_kills(node.ws_url, url, kill, restarted)
        report(f"crash (embedded): {KILLS} SIGKILLs, acknowledged {acked}, lost {lost}")
        assert acked > 50 and (lost, forgotten) == (0, 0)
        assert node.log_text().count("embedded_redis_restarted") == KILLS
        assert not node.crashes()
    finally:
        node.stop()
