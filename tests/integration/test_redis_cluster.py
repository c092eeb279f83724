"""chatserver on a Redis Cluster (REDIS_URL=redis+cluster://…): three primaries with a replica
each, from Debian's Redis 7 on loopback. The CLI works against it, a chat between two server
nodes completes, and the two-node routing race holds its invariants.

One cluster serves the whole module (starting one takes seconds); each test starts on an
empty one."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.exceptions import CrossSlotTransactionError

from chatserver.durability import decide
from chatserver.keys import Keys
from chatserver.scripts import NotDurable
from chatserver.store import Store
from tests import client as cl
from tests.integration.test_multinode import routing_race
from tests.servers import LiveServer, report
from tests.topologies import RedisCluster, debian_redis

K = Keys()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    binary = debian_redis()
    if binary is None:
        pytest.skip("Debian's redis-server (make test installs it) is missing")
    nodes = RedisCluster(tmp_path_factory.mktemp("cluster"), binary)
    try:
        nodes.start()
    except RuntimeError as exc:  # e.g. redis-cli missing beside redis-server
        nodes.stop()
        pytest.skip(str(exc))
    yield nodes
    nodes.stop()


@pytest.fixture
def live(cluster: RedisCluster, tmp_path: Path) -> Iterator[LiveServer]:
    """Server nodes on the module's cluster, emptied first (its scripts stay loaded)."""
    cluster.flush()
    servers = LiveServer(cluster, tmp_path / "server")  # type: ignore[arg-type]
    yield servers
    servers.stop()


def chatserver(
    url: str, data_dir: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": url, "CHATSERVER_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "chatserver", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ready(base: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_cli_works_against_the_cluster(
    live: LiveServer, cluster: RedisCluster, tmp_path: Path
) -> None:
    url = cluster.url
    done = chatserver(url, tmp_path, "site", "add", "shop", "--name", "Shop")
    assert done.returncode == 0, done.stderr
    done = chatserver(
        url,
        tmp_path,
        "agent",
        "add",
        "sara@example.com",
        "--site",
        "shop",
        "--password-stdin",
        stdin="password123\n",
    )
    assert done.returncode == 0, done.stderr
    done = chatserver(url, tmp_path, "apikey", "add", "--name", "CRM", "--site", "shop")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    listed = chatserver(url, tmp_path, "apikey", "list", "--site", "shop")
    assert listed.returncode == 0 and "CRM" in listed.stdout, listed.stderr
    key_id = listed.stdout.split()[0]
    assert key_id and token
    revoked = chatserver(url, tmp_path, "apikey", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in chatserver(url, tmp_path, "apikey", "list", "--site", "shop").stdout
    r = cluster.client()
    try:
        # The site's keys and the global ones live in different slots (and shards).
        assert r.hget(K.site("shop"), "name") == "Shop"
        assert r.sismember(K.sites(), "shop")
        assert r.keyslot(K.site("shop")) != r.keyslot(K.sites())
        assert r.hget(K.accounts_by_email(), "sara@example.com")
    finally:
        r.close()
    # A bad URL is refused before anything is written, with the form it wants.
    bad = chatserver("redis+cluster://127.0.0.1", tmp_path, "site", "add", "x")
    assert bad.returncode == 2 and "host:port" in bad.stderr


async def test_two_nodes_chat_on_the_cluster(live: LiveServer) -> None:
    one, two = live.start_node(), live.start_node()
    for node in (one, two):
        status, body = ready(node.base_url)
        assert status == 200, body
    live.add_agent("sara@example.com", name="Sara")
    agent, _ = await cl.agent(two.ws_url, live.login("sara@example.com", base=two.base_url))
    visitor, _ = await cl.visitor(one.ws_url)
    sent = [f"v{n}" for n in range(5)]
    acked = []
    for n, cid in enumerate(sent):
        await visitor.send({"type": "message", "client_id": cid, "text": f"سلام {n}"})
        ack = await visitor.expect("ack", lambda f, cid=cid: f.get("client_id") == cid)
        acked.append(ack["id"])
    conv_id = ack["conversation_id"]
    await agent.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    got = [
        (await agent.expect("message", lambda f, cid=cid: f.get("client_id") == cid))["id"]
        for cid in sent
    ]
    assert got == acked  # in order
    for n in range(3):
        await agent.send(
            {"type": "message", "conversation_id": conv_id, "client_id": f"a{n}", "text": f"hi {n}"}
        )
        await agent.expect("ack", lambda f, n=n: f.get("client_id") == f"a{n}")
    replies = [
        (await visitor.expect("message", lambda f, n=n: f.get("client_id") == f"a{n}"))["text"]
        for n in range(3)
    ]
    assert replies == ["hi 0", "hi 1", "hi 2"]
    await agent.send({"type": "resolve", "conversation_id": conv_id})
    await visitor.expect("resolved")
    await agent.expect("resolved")
    # Delivered once: no second copy of any message reached either side.
    assert not [f for f in agent.of_type("message") if f.get("client_id") in sent]
    assert not [f for f in visitor.of_type("message") if str(f.get("client_id")).startswith("a")]
    for node in (one, two):
        assert node.crashes() == []
    await visitor.close()
    await agent.close()


async def test_the_bus_moves_to_another_node_when_its_node_dies(
    live: LiveServer, cluster: RedisCluster
) -> None:
    one, two = live.start_node(), live.start_node()
    live.add_agent("sara@example.com", name="Sara")
    agent, _ = await cl.agent(two.ws_url, live.login("sara@example.com", base=two.base_url))
    visitor, _ = await cl.visitor(one.ws_url)
    await visitor.send({"type": "message", "client_id": "v0", "text": "before"})
    conv_id = (await visitor.expect("ack"))["conversation_id"]
    await agent.expect("message", lambda f: f.get("client_id") == "v0")
    # Each process keeps its pub/sub connection on a replica: those can die without a failover.
    held = cluster.subscribed()
    assert held and {role for _, role in held} == {"slave"}, held
    for node, _ in held:
        node.kill()
    try:
        # Both ways across the two processes again, each bus on another node now.
        await visitor.send({"type": "message", "client_id": "v1", "text": "after"})
        await visitor.expect("ack", lambda f: f.get("client_id") == "v1")
        await agent.expect("message", lambda f: f.get("client_id") == "v1", timeout=30)
        await agent.send(
            {"type": "message", "conversation_id": conv_id, "client_id": "a1", "text": "ok"}
        )
        await visitor.expect("message", lambda f: f.get("client_id") == "a1", timeout=30)
        assert {n.port for n, _ in cluster.subscribed()}.isdisjoint({n.port for n, _ in held})
        assert not [f for f in agent.of_type("message") if f.get("client_id") in ("v0", "v1")]
    finally:
        for node, _ in held:
            node.start()
        cluster.wait_ready()
    for node in (one, two):
        assert node.crashes() == []
    await visitor.close()
    await agent.close()


async def test_readyz_while_a_primary_is_down_and_after_its_failover(
    live: LiveServer, cluster: RedisCluster
) -> None:
    node = live.start_node()
    assert ready(node.base_url)[0] == 200
    victim = cluster.primary_of(K.site("demo"))
    victim.kill()
    killed = time.monotonic()
    try:
        status, body = ready(node.base_url)
        assert (status, body.get("redis")) == (503, "unreachable")
        # Its replica takes over (cluster-node-timeout 2000): the node is ready again on the
        # new slot map, and the site whose shard failed over chats on.
        deadline = time.monotonic() + 60
        while ready(node.base_url)[0] != 200:
            assert time.monotonic() < deadline, "never ready again after the failover"
            await asyncio.sleep(0.2)
        outage = time.monotonic() - killed
        report(f"cluster failover: a primary SIGKILLed, /readyz 200 again after {outage:.1f}s")
        assert cluster.primary_of(K.site("demo")).port != victim.port
        visitor, _ = await cl.visitor(node.ws_url)
        await visitor.send({"type": "message", "client_id": "v1", "text": "still here"})
        await visitor.expect("ack", lambda f: f.get("client_id") == "v1", timeout=30)
        await visitor.close()
    finally:
        victim.start()  # back as a replica of the promoted node
        cluster.wait_ready()
    assert ready(node.base_url)[0] == 200


async def test_the_replica_promise_waits_on_every_node_written(cluster: RedisCluster) -> None:
    """CHATSERVER_DURABILITY=replica: one WAIT per node of a batch, acknowledged only when
    each holds (every primary here has one replica, so two are never confirmed)."""
    cluster.flush()
    store = Store.from_url(cluster.url)
    try:
        await store.scripts.load_all()
        sites = [f"site{i}" for i in range(12)]
        r = cluster.client()
        try:
            shards = {r.get_node_from_key(K.sites()).name}
            shards |= {r.get_node_from_key(K.site(site)).name for site in sites}
        finally:
            r.close()
        assert len(shards) == 3  # the batch below writes to every primary
        store.scripts.promise = decide("replica", (7, 0, 15), "no", "everysec", 1, 2000)
        await asyncio.gather(*(store.ensure_site(site) for site in sites))
        store.scripts.promise = decide("replica", (7, 0, 15), "no", "everysec", 2, 100)
        with pytest.raises(NotDurable, match="WAIT answered 1"):
            await store.ensure_site("one-more")
    finally:
        await store.close()


async def test_a_burst_waits_for_connections_instead_of_failing(cluster: RedisCluster) -> None:
    """redis-py's cluster pools raise when full; the store's client makes callers wait."""
    store = Store.from_url(cluster.url, max_connections=2)
    try:
        keys = [K.site(f"s{i}") for i in range(50)]
        singles = [store.r.hget(key, "name") for key in keys for _ in range(4)]
        pipelines = [store._hget_many(keys, "name") for _ in range(20)]
        results = await asyncio.gather(*singles, *pipelines)
        assert results[: len(singles)] == [None] * len(singles)
        assert results[len(singles) :] == [[""] * 50] * 20
        for node in store.r.get_nodes():
            assert len(node._connections) <= 2 + 4
    finally:
        await store.close()


async def test_transactions_run_on_the_slots_primary(cluster: RedisCluster) -> None:
    """The store's few MULTI steps (one key each) work as a fresh client's first command, and
    one spanning two slots is refused before anything is sent."""
    cluster.flush()
    store = Store.from_url(cluster.url)
    try:
        first = await store.ensure_identity_secret("shop", 1)
        assert await store.ensure_identity_secret("shop", 2) == first  # made once
        await store.create_login_pending("t1", {"agent": "a1"}, 60)
        assert await store.login_pending_attempt("t1") == 1
        assert await store.login_pending_attempt("t1") == 2
        pipe = store.r.pipeline(transaction=True)
        pipe.set(K.site("one"), "x")
        pipe.set(K.site("two"), "x")
        with pytest.raises(CrossSlotTransactionError):
            await pipe.execute()
        assert await store.r.exists(K.site("one")) == 0
    finally:
        await store.close()


async def test_routing_race_on_the_cluster(live: LiveServer, cluster: RedisCluster) -> None:
    live.start_node()
    await routing_race(live, cluster.client())
