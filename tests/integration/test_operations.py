"""Running the server as an operator does: embedded Redis, restarts, shutdown, queue notices."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests import client as cl
from tests.servers import LiveServer


def serve_embedded(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`chatserver serve` with no REDIS_URL: it must start its own Redis."""
    port_file = data_dir / "port"
    port_file.unlink(missing_ok=True)
    # No REDIS_URL and no secret: the server starts its own Redis and keeps a generated key
    # in the data dir, so visitor tokens stay valid across restarts.
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CHATSERVER_SECRET_KEY")}
    env |= {"CHATSERVER_DATA_DIR": str(data_dir / "var")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatserver", "serve", "--port", "0", "--port-file", str(port_file)],
        cwd=data_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text():
            port = int(port_file.read_text())
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
                return proc, port
            except OSError:
                pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("server with embedded Redis did not start")


def redis_children(data_dir: Path) -> bool:
    pidfile = data_dir / "var" / "redis" / "redis.pid"
    if not pidfile.exists():
        return False
    try:
        os.kill(int(pidfile.read_text()), 0)
    except (ProcessLookupError, ValueError):
        return False
    return True


async def test_embedded_redis_keeps_data_across_restarts(tmp_path: Path) -> None:
    proc, port = serve_embedded(tmp_path)
    try:
        v, welcome = await cl.visitor(f"ws://127.0.0.1:{port}")
        await v.send({"type": "message", "client_id": "keep", "text": "remember me"})
        conv_id = (await v.expect("ack"))["conversation_id"]
        await v.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    assert (tmp_path / "var" / "redis" / "appendonly.aof").exists() or any(
        (tmp_path / "var" / "redis").glob("appendonly*")
    )
    assert not redis_children(tmp_path), "the embedded redis-server outlived the server"
    proc, port = serve_embedded(tmp_path)
    try:
        v2, again = await cl.visitor(f"ws://127.0.0.1:{port}", token=welcome["token"])
        assert again["visitor_id"] == welcome["visitor_id"]
        assert again["conversation"]["id"] == conv_id
        await v2.expect("synced")
        assert [f["text"] for f in v2.of_type("message")] == ["remember me"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    assert (tmp_path / "var" / "secret_key").exists()


async def test_sigterm_tells_clients_to_reconnect(live_server: LiveServer) -> None:
    node2 = live_server.start_node()
    v, _ = await cl.visitor(live_server.nodes[0].ws_url)
    await v.send({"type": "message", "client_id": "before", "text": "before restart"})
    await v.expect("ack")
    live_server.nodes[0].stop(signal.SIGTERM)
    frame = await v.expect("reconnect")
    assert frame["after_ms"] > 0
    # The client goes to the other node and resumes; nothing is lost.
    v2, _ = await cl.visitor(node2.ws_url, token=v.token)
    await v2.expect("synced")
    assert [f["text"] for f in v2.of_type("message")] == ["before restart"]


async def test_queue_position_and_nobody_online(live_server: LiveServer) -> None:
    v1, _ = await cl.visitor(live_server.ws_url)
    await v1.send({"type": "message", "client_id": "q1", "text": "anyone?"})
    await v1.expect("ack")
    first = await v1.expect("queue")
    assert first["position"] == 1 and first["agents_online"] == 0
    assert first["estimated_wait"] is None
    v2, _ = await cl.visitor(live_server.ws_url)
    await v2.send({"type": "message", "client_id": "q2", "text": "me too"})
    await v2.expect("ack")
    second = await v2.expect("queue")
    assert second["position"] == 2
    # An agent with room for one comes online: v1 is served, v2 moves up with an estimate.
    live_server.add_agent("solo@example.com", name="Solo", capacity=1)
    agent, _ = await cl.agent(live_server.ws_url, live_server.login("solo@example.com"))
    await v1.expect("assigned")
    moved = await v2.expect("queue", lambda f: f["position"] == 1)
    assert moved["agents_online"] == 1 and moved["estimated_wait"] is not None
    # The agent's queue list shows who waits, with where they are.
    items = await agent.expect("queue", lambda f: len(f["items"]) == 1)
    assert items["items"][0]["preview"] == "me too"
    # When v2 is served, the wait it had is compared with the estimate it was shown.
    first_chat = (await agent.expect("assigned"))["conversation_id"]
    await agent.send({"type": "resolve", "conversation_id": first_chat})
    await v2.expect("assigned")
    text = await asyncio.to_thread(_get, live_server.base_url + "/metrics")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("chatserver_wait_estimates_checked_total", (("site", "demo"),))] == 1
    bias = samples[("chatserver_wait_estimate_error_seconds", (("site", "demo"), ("stat", "bias")))]
    assert bias < 0  # served at once, sooner than the estimate said


async def test_presence_expires_when_agent_vanishes(redis_server: object, tmp_path: Path) -> None:
    from chatserver.embedded_redis import EmbeddedRedis

    assert isinstance(redis_server, EmbeddedRedis)
    live = LiveServer(redis_server, tmp_path / "srv")
    live.start_node(env={"CHATSERVER_PRESENCE_TTL": "3"})
    try:
        live.add_agent("brief@example.com", name="Brief")
        agent, welcome = await cl.agent(live.ws_url, live.login("brief@example.com"))
        aid = welcome["agent"]["id"]
        r = redis.Redis.from_url(live.redis_url, decode_responses=True)
        from chatserver.keys import Keys

        key = Keys().presence("demo", aid)
        await asyncio.sleep(4)
        assert r.exists(key), "the heartbeat keeps presence alive while the socket is open"
        await agent.close()
        await asyncio.sleep(4)
        assert not r.exists(key)
        v, _ = await cl.visitor(live.ws_url)
        await v.send({"type": "message", "client_id": "late", "text": "hello?"})
        queued = await v.expect("queue")
        assert queued["agents_online"] == 0
    finally:
        live.stop()


SYSTEM_REDIS = "redis://127.0.0.1:6379/15"


def _system_redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(SYSTEM_REDIS, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _system_redis_up(), reason="no Redis on 127.0.0.1:6379")
async def test_compatible_with_the_system_redis_7(tmp_path: Path) -> None:
    """The same chat on another Redis version (the machine's own, database 15, own prefix)."""
    from tests.servers import ServerProcess

    prefix = f"cstest{os.getpid()}"
    node = ServerProcess(SYSTEM_REDIS, tmp_path, env={"CHATSERVER_KEY_PREFIX": prefix})
    node.start()
    r = redis.Redis.from_url(SYSTEM_REDIS)
    try:
        v, _ = await cl.visitor(node.ws_url)
        await v.send({"type": "message", "client_id": "r7", "text": "on redis 7"})
        ack = await v.expect("ack")
        echo = await v.expect("message")
        assert echo["id"] == ack["id"]
        assert r.info("server")["redis_version"]
    finally:
        node.stop()
        for key in r.scan_iter(f"{prefix}:*"):
            r.delete(key)
        r.close()


def test_cli_agent_add_then_login(live_server: LiveServer, tmp_path: Path) -> None:
    env = {**os.environ, "REDIS_URL": live_server.redis_url, "CHATSERVER_DATA_DIR": str(tmp_path)}
    add = [
        sys.executable,
        "-m",
        "chatserver",
        "agent",
        "add",
        "nima@example.com",
        "--name",
        "Nima",
        "--role",
        "supervisor",
        "--capacity",
        "4",
        "--password-stdin",
    ]
    done = subprocess.run(add, input=b"s3cret-pass\n", env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert b"nima@example.com" in done.stdout
    again = subprocess.run(add, input=b"s3cret-pass\n", env=env, capture_output=True, timeout=60)
    assert again.returncode == 1 and b"exists" in again.stderr
    short = subprocess.run(
        [*add[:5], "other@example.com", "--password-stdin"],
        input=b"short\n",
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert short.returncode == 2 and b"at least 8" in short.stderr
    assert live_server.login("nima@example.com", "s3cret-pass")
    bad_env = {**env, "REDIS_URL": "http://nope"}
    bad = subprocess.run(
        [sys.executable, "-m", "chatserver", "serve"], env=bad_env, capture_output=True, timeout=60
    )
    assert bad.returncode == 2 and b"REDIS_URL" in bad.stderr


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        body: bytes = resp.read()
        return body.decode()
