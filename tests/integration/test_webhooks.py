"""Webhooks against a real HTTP receiver on loopback that fails 30% of requests, answers some
slowly and is stopped for a while, while the node delivering is SIGKILLed: the receiver ends
with every event of the feed, in order, duplicates only with the same id (and body), every
signature checked with the function docs/webhooks.md gives receivers."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from chatserver.embedded_redis import EmbeddedRedis
from chatserver.keys import Keys
from chatserver.store import Store
from tests import client as cl
from tests.servers import LiveServer, report, run_async
from tests.webhook_receiver import Receiver, until

K = Keys()
FAST = {
    "CHATSERVER_WEBHOOK_LEASE_S": "2",
    "CHATSERVER_WEBHOOK_RETRY_BASE_MS": "50",
    "CHATSERVER_WEBHOOK_TIMEOUT_S": "1",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=0.3, slow=0.1)
    yield r
    r.stop()


def metrics(base: str) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(base + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {
        (sample.name, sample.labels["endpoint"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if "endpoint" in sample.labels
    }


def admin_key(url: str) -> str:
    async def run() -> str:
        store = Store.from_url(url)
        try:
            _, token = await store.issue_api_key("demo", "hooks", "admin", 0, "test")
            return token
        finally:
            await store.close()

    token: str = run_async(run())
    return token


def feed_ids(url: str, after: str) -> list[tuple[str, str]]:
    r = redis.Redis.from_url(url, decode_responses=True)
    try:
        return [
            (entry_id, f["c"]) for entry_id, f in r.xrange(K.feed("demo"), min=f"({after}", max="+")
        ]
    finally:
        r.close()


async def chat(live: LiveServer, ws_url: str, n: int, agent: cl.Client) -> str:
    v, _ = await cl.visitor(ws_url)
    await v.send({"type": "message", "client_id": f"c{n}-0", "text": f"سلام {n}"})
    conv = (await v.expect("ack"))["conversation_id"]
    await agent.expect("assigned", lambda f: f["conversation_id"] == conv, timeout=20)
    for i in range(1, 4):
        await agent.send(
            {"type": "message", "conversation_id": conv, "client_id": f"a{n}-{i}", "text": "…"}
        )
        await agent.expect("ack", lambda f, i=i: f["client_id"] == f"a{n}-{i}")
        await v.send({"type": "message", "client_id": f"c{n}-{i}", "text": f"پیام {i}"})
        await v.expect("ack", lambda f, i=i: f["client_id"] == f"c{n}-{i}")
    await agent.send({"type": "resolve", "conversation_id": conv})
    await v.expect("resolved")
    await v.close()
    return str(conv)


async def test_every_event_arrives_in_order_through_failures_and_a_killed_node(
    redis_server: EmbeddedRedis, tmp_path: Path, receiver: Receiver
) -> None:
    live = LiveServer(redis_server, tmp_path / "server")
    try:
        first = live.start_node(FAST)
        second = live.start_node(FAST)
        key = admin_key(live.redis_url)
        hook = cl.rest(first.base_url, key, "POST", "/api/v1/webhooks", {"url": receiver.url})
        receiver.secret = hook["secret"]
        start = hook["cursor"]

        live.add_agent("ann@example.com", name="Ann", capacity=20)
        agent, _ = await cl.agent(second.ws_url, live.login("ann@example.com"))
        convs = [await chat(live, first.ws_url, n, agent) for n in range(4)]

        # The receiver goes away for a while...
        receiver.stop()
        convs += [await chat(live, second.ws_url, n, agent) for n in range(4, 8)]
        receiver.start()
        delivered = len(receiver.accepted())
        await until(lambda: len(receiver.accepted()) >= delivered + 5)  # delivering again
        # ... and the node delivering to it is SIGKILLed mid-delivery.
        r = redis.Redis.from_url(live.redis_url, decode_responses=True)
        holder = r.get(K.webhook_lease("demo", hook["id"]))
        r.close()
        victim = next(n for n in (first, second) if holder and holder in n.log_text())
        survivor = second if victim is first else first
        victim.kill()
        await agent.close()
        agent, _ = await cl.agent(
            survivor.ws_url, live.login("ann@example.com", base=survivor.base_url)
        )
        convs += [await chat(live, survivor.ws_url, n, agent) for n in range(8, 12)]
        second = live.start_node(FAST)

        expected = feed_ids(live.redis_url, start)
        want = {entry_id for entry_id, _ in expected}
        deadline = asyncio.get_running_loop().time() + 90
        while {r["id"] for r in receiver.accepted()} < want:
            assert asyncio.get_running_loop().time() < deadline, "events missing"
            await asyncio.sleep(0.1)
        state = cl.rest(second.base_url, key, "GET", f"/api/v1/webhooks/{hook['id']}")
        await until(
            lambda: metrics(second.base_url)[("chatserver_webhook_lag_seconds", hook["id"])] == 0
        )
        seen = metrics(second.base_url)
        assert seen[("chatserver_webhook_delivered_total", hook["id"])] >= len(want)
        assert seen[("chatserver_webhook_failures_total", hook["id"])] > 0
        await agent.close()
    finally:
        live.stop()

    accepted = receiver.accepted()
    got = [r["id"] for r in accepted]
    firsts = list(dict.fromkeys(got))
    # In order: the first arrival of each event follows the feed's order.
    order = {entry_id: i for i, (entry_id, _) in enumerate(expected)}
    assert [order[i] for i in firsts if i in order] == sorted(
        order[i] for i in firsts if i in order
    )
    # Duplicates only with the same id and the very same body.
    bodies: dict[str, bytes] = {}
    for r in accepted:
        assert bodies.setdefault(r["id"], r["body"]) == r["body"]
    assert receiver.bad_signatures == 0
    lost = want - set(got)
    types = {r["event"]["type"] for r in accepted}
    assert {
        "conversation.created",
        "conversation.assigned",
        "message.created",
        "conversation.resolved",
    } <= types
    assert all(c in {r["event"]["conversation_id"] for r in accepted} for c in convs)
    report(
        f"webhooks: {len(expected)} events, {len(receiver.requests)} requests, "
        f"delivered {len(set(got))}, retried {len(receiver.requests) - len(accepted)}, "
        f"duplicated {len(got) - len(set(got))} (same id), lost {len(lost)}; "
        f"endpoint says delivered {state['delivered']}, failures {state['failures']}"
    )
    assert lost == set()


async def test_a_dead_receiver_gives_dead_letters_and_replay(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    live = LiveServer(redis_server, tmp_path / "server")
    down = Receiver(fail=1.0)
    try:
        node = live.start_node({**FAST, "CHATSERVER_WEBHOOK_GIVE_UP_S": "1"})
        key = admin_key(live.redis_url)
        hook = cl.rest(node.base_url, key, "POST", "/api/v1/webhooks", {"url": down.url})
        down.secret = hook["secret"]
        other = Receiver()
        fine = cl.rest(
            node.base_url,
            key,
            "POST",
            "/api/v1/webhooks",
            {"url": other.url, "events": ["conversation.created"]},
        )
        other.secret = fine["secret"]
        v, _ = await cl.visitor(node.ws_url)
        await v.send({"type": "message", "client_id": "x", "text": "hello"})
        conv = (await v.expect("ack"))["conversation_id"]
        # The healthy endpoint is not held up by the dead one, and gets only its type.
        deadline = asyncio.get_running_loop().time() + 20
        # Waits for the endpoint's cursor to pass the message event (the last in the feed)
        # first, so that the check below cannot pass before that event was considered.
        last = cl.rest(node.base_url, key, "GET", "/api/v1/events?limit=1000")["items"][-1]
        assert last["type"] == "message.created"

        def fine_done() -> bool:
            state = cl.rest(node.base_url, key, "GET", f"/api/v1/webhooks/{fine['id']}")
            return bool(state["cursor"] == last["id"])

        await until(fine_done, timeout=20)
        assert [r["event"]["type"] for r in other.accepted()] == ["conversation.created"]
        # The dead one gives up on both events (created, message) after a second each.
        while True:
            state = cl.rest(node.base_url, key, "GET", f"/api/v1/webhooks/{hook['id']}")
            if state["dead_letters"] >= 2:
                break
            assert asyncio.get_running_loop().time() < deadline + 20, state
            await asyncio.sleep(0.1)
        dead = cl.rest(node.base_url, key, "GET", f"/api/v1/webhooks/{hook['id']}/dead_letters")
        assert [d["type"] for d in dead["items"][:2]] == ["conversation.created", "message.created"]
        assert state["failures"] >= 2 and state["last_status"] == 500
        # Fixed: replay from the start delivers both, in order.
        down.fail = 0.0
        cl.rest(node.base_url, key, "POST", f"/api/v1/webhooks/{hook['id']}/replay", {"since": 0})
        while len({r["id"] for r in down.accepted()}) < 2:
            assert asyncio.get_running_loop().time() < deadline + 40
            await asyncio.sleep(0.05)
        types = [r["event"]["type"] for r in down.accepted()]
        assert types[:2] == ["conversation.created", "message.created"], types
        assert down.accepted()[0]["event"]["conversation_id"] == conv
        events = cl.rest(node.base_url, key, "GET", "/api/v1/events?limit=10")
        assert [e["id"] for e in events["items"]][:2] == [r["id"] for r in down.accepted()][:2]
        await v.close()
        other.stop()
    finally:
        down.stop()
        live.stop()
