"""The abuse limits against real servers: each answers ``rate_limited`` with a retry_after,
holds across processes (two nodes on one Redis), and per-IP limits see the client's address
from a trusted proxy's X-Forwarded-For only. The Lua rule is held to core/leases.py."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatserver.core.leases import lease_wait
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.scripts import _load
from tests import client as cl
from tests.integration.security_support import http
from tests.servers import LiveServer

LIMITED = {
    "CHATSERVER_TRUSTED_PROXIES": "127.0.0.1",
    "CHATSERVER_LIMIT_MESSAGES_PER_MINUTE": "5",
    "CHATSERVER_LIMIT_CONVERSATIONS_PER_IP": "2",
    "CHATSERVER_LIMIT_CONNECTIONS_PER_IP": "3",
    "CHATSERVER_LIMIT_TYPING_PER_MINUTE": "4",
    "CHATSERVER_LIMIT_LOGINS_PER_ACCOUNT": "3",
    "CHATSERVER_LIMIT_LOGINS_PER_IP": "4",
}


@pytest.fixture
def two_nodes(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[LiveServer]:
    """Two server processes on one Redis, behind a 'proxy' at 127.0.0.1, with low limits."""
    live = LiveServer(redis_server, tmp_path / "server")
    live.start_node(LIMITED)
    live.start_node(LIMITED)
    yield live
    live.stop()


def _from(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


async def _visitor(ws_url: str, ip: str, token: str | None = None) -> tuple[cl.Client, str]:
    c = await cl.Client.connect(f"{ws_url}/ws/visitor?site=demo", headers=_from(ip))
    await c.send({"type": "hello", **({"token": token} if token else {})})
    return c, str((await c.expect("welcome"))["token"])


async def _send(c: cl.Client, cid: str) -> dict[str, object]:
    """Send a message; the ack or the error about it."""
    await c.send({"type": "message", "client_id": cid, "text": "hi"})
    return await c.expect(
        where=lambda f: (
            (f["type"] == "ack" and f["client_id"] == cid)
            or (f["type"] == "error" and f.get("ref") == cid)
        )
    )


async def test_new_conversations_per_ip_across_processes(two_nodes: LiveServer) -> None:
    a, b = two_nodes.nodes
    ip = "203.0.113.10"
    outcomes = []
    for i, node in enumerate((a, b, a, b)):
        v, _ = await _visitor(node.ws_url, ip)
        outcomes.append(await _send(v, f"c{i}"))
        await v.close()
    assert [o["type"] for o in outcomes] == ["ack", "ack", "error", "error"]
    refused = outcomes[2]
    assert refused["code"] == "rate_limited" and refused["ref"] == "c2"
    assert 0 < float(refused["retry_after"]) <= 600  # type: ignore[arg-type]
    # Another address is not affected.
    v, _ = await _visitor(b.ws_url, "203.0.113.11")
    assert (await _send(v, "other"))["type"] == "ack"


async def test_messages_per_visitor_across_processes_and_reconnects(
    two_nodes: LiveServer,
) -> None:
    a, b = two_nodes.nodes
    v, token = await _visitor(a.ws_url, "198.51.100.1")
    acks = [await _send(v, f"m{i}") for i in range(3)]
    assert all(f["type"] == "ack" for f in acks)
    # A retry of a stored message is acknowledged again and not counted.
    assert (await _send(v, "m0"))["duplicate"] is True
    await v.close()
    # The same visitor on the other process, from another address: the count follows it.
    v2, _ = await _visitor(b.ws_url, "198.51.100.2", token)
    assert [(await _send(v2, f"n{i}"))["type"] for i in range(3)] == ["ack", "ack", "error"]
    last = await _send(v2, "n9")
    assert last["code"] == "rate_limited"
    assert 50 < float(last["retry_after"]) <= 60  # type: ignore[arg-type]
    # Nothing refused was stored: the agent side sees five visitor messages.
    sync = {"type": "sync", "conversation_id": acks[0]["conversation_id"], "after": "0-0"}
    await v2.send(sync)
    await v2.expect("synced")
    texts = [f for f in v2.of_type("message") if f.get("from") == "visitor"]
    assert len({f["id"] for f in texts}) == 5


async def test_open_sockets_per_ip(two_nodes: LiveServer) -> None:
    a, b = two_nodes.nodes
    ip = "192.0.2.77"
    held = [(await _visitor(node.ws_url, ip))[0] for node in (a, b, a)]
    extra = await cl.Client.connect(f"{b.ws_url}/ws/visitor?site=demo", headers=_from(ip))
    err = await extra.expect("error")
    assert err["code"] == "rate_limited" and err["retry_after"] > 0
    for _ in range(50):
        if extra.closed_code is not None:
            break
        await asyncio.sleep(0.05)
    assert extra.closed_code == 4008
    # Closing one gives its place back.
    await held[0].close()
    await asyncio.sleep(0.2)
    again, _ = await _visitor(b.ws_url, ip)
    for c in (again, *held[1:]):
        await c.close()


async def test_typing_events_per_sender(two_nodes: LiveServer) -> None:
    v, _ = await _visitor(two_nodes.nodes[0].ws_url, "192.0.2.5")
    assert (await _send(v, "t0"))["type"] == "ack"
    codes = []
    for i in range(6):
        await v.send({"type": "typing", "state": i % 2 == 0, "preview": "x"})
        await asyncio.sleep(0.35)  # past the local 300 ms throttle of "true"
    await asyncio.sleep(0.2)
    codes = [f["code"] for f in v.of_type("error")]
    assert codes == ["rate_limited", "rate_limited"], codes


def test_sign_in_attempts_per_account_and_per_ip(two_nodes: LiveServer) -> None:
    a, b = two_nodes.nodes
    two_nodes.add_agent("sara@example.com")
    two_nodes.add_agent("omid@example.com")

    def attempt(node_url: str, email: str, password: str, ip: str) -> int:
        body = json.dumps({"email": email, "password": password}).encode()
        return http(node_url, "/api/login", json_body=body, headers=_from(ip)).status

    # Successes do not count; wrong passwords do, whichever process answers.
    assert [attempt(n.base_url, "sara@example.com", "password123", "10.9.0.1") for n in (a, b)] == [
        200,
        200,
    ]
    statuses = [
        attempt(n.base_url, "sara@example.com", "wrong", f"10.9.0.{i}")
        for i, n in enumerate((a, b, a, b), 2)
    ]
    assert statuses == [401, 401, 401, 429]
    # Now even the right password waits, from any address: the account is throttled.
    reply = http(
        b.base_url,
        "/api/login",
        json_body=json.dumps({"email": "sara@example.com", "password": "password123"}).encode(),
        headers=_from("10.9.9.9"),
    )
    assert reply.status == 429 and int(reply.headers["Retry-After"]) > 0
    # Per address: guesses spread over accounts from one address.
    spread = [attempt(a.base_url, f"nobody{i}@example.com", "wrong", "10.8.0.1") for i in range(5)]
    assert spread == [401, 401, 401, 401, 429]
    assert attempt(a.base_url, "omid@example.com", "password123", "10.8.0.2") == 200
    # The login form says so too.
    form = {"email": "sara@example.com", "password": "x", "csrf_token": "t"}
    page = http(a.base_url, "/login", form, cookies={"cs_csrf": "t"}, headers=_from("10.7.0.1"))
    assert page.status == 429 and "Too many attempts" in page.body


async def test_forwarded_for_is_ignored_without_a_trusted_proxy(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    live = LiveServer(redis_server, tmp_path / "server")
    node = live.start_node(
        {"CHATSERVER_LIMIT_EXEMPT": "", "CHATSERVER_LIMIT_CONVERSATIONS_PER_IP": "2"}
    )
    try:
        outcomes = []
        for i in range(3):
            # A client that claims a new address each time is still 127.0.0.1.
            v, _ = await _visitor(node.ws_url, f"203.0.113.{100 + i}")
            outcomes.append((await _send(v, f"x{i}"))["type"])
            await v.close()
        assert outcomes == ["ack", "ack", "error"]
    finally:
        live.stop()


LUA_LIMIT = _load("limit")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.integers(1, 6),
    st.integers(1, 5_000),
    st.lists(st.integers(0, 2_000), min_size=1, max_size=40),
)
def test_the_lua_lease_rule_is_the_python_one(
    redis_server: EmbeddedRedis, limit: int, window: int, gaps: list[int]
) -> None:
    """limit.lua admits and refuses exactly when core/leases.py does, with the same wait."""
    r = redis.Redis.from_url(redis_server.url)
    key = f"test:lease:{secrets.token_hex(6)}"
    leases: list[int] = []
    now = 1_732_390_000_000
    try:
        for i, gap in enumerate(gaps):
            now += gap
            expected = lease_wait(leases, now, limit)
            got = r.eval(LUA_LIMIT, 1, key, now, f"m{i}", limit, now + window)
            assert int(got[0]) == expected, (i, leases, now)
            if expected == 0:
                leases.append(now + window)
    finally:
        r.delete(key)
        r.close()
