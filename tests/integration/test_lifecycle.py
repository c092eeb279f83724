"""The conversation lifecycle on a real server: durable timers, requeue, reopen, endings.

Each test sets its site's policy to timers of a second or two (the policy is per site), and
the servers poll timers every second and sweep every second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from chatserver.embedded_redis import EmbeddedRedis
from chatserver.keys import Keys
from tests import client as cl
from tests.servers import LiveServer, report

K = Keys()
FAST_NODE = {"CHATSERVER_PRESENCE_TTL": "3", "CHATSERVER_SWEEP_INTERVAL": "1"}


def set_policy(url: str, **policy: int) -> None:
    r = redis.Redis.from_url(url, decode_responses=True)
    r.hset(K.site("demo"), mapping={"name": "demo", "allowed_origins": "*", **policy})
    r.sadd(K.sites(), "demo")
    r.close()


def conv_hash(url: str, conv_id: str) -> dict[str, str]:
    r = redis.Redis.from_url(url, decode_responses=True)
    try:
        data: dict[str, str] = r.hgetall(K.conversation("demo", conv_id))
        return data
    finally:
        r.close()


def stream_events(url: str, conv_id: str) -> list[str]:
    r = redis.Redis.from_url(url, decode_responses=True)
    try:
        return [f.get("e", "") for _, f in r.xrange(K.messages("demo", conv_id))]
    finally:
        r.close()


@pytest.fixture
def fast(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[LiveServer]:
    """A server whose site 'demo' has no policy yet; tests set it before connecting."""
    live = LiveServer(redis_server, tmp_path / "server")
    yield live
    live.stop()


async def start_chat(live: LiveServer, text: str = "hello") -> tuple[cl.Client, str]:
    v, _ = await cl.visitor(live.ws_url)
    await v.send({"type": "message", "client_id": cl.client_id(), "text": text})
    return v, (await v.expect("ack"))["conversation_id"]


def system(client: cl.Client, event: str) -> Any:
    return client.expect("message", lambda f: f.get("event") == event, timeout=15)


async def test_an_agent_gone_for_good_hands_its_chats_to_the_next(fast: LiveServer) -> None:
    set_policy(fast.redis_url, agent_grace_s=1)
    fast.start_node(FAST_NODE)
    fast.add_agent("sara@example.com", name="Sara", capacity=2)
    fast.add_agent("omid@example.com", name="Omid", capacity=2)
    sara, _ = await cl.agent(fast.ws_url, fast.login("sara@example.com"))
    v, conv_id = await start_chat(fast)
    await sara.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    omid, _ = await cl.agent(fast.ws_url, fast.login("omid@example.com"))
    await sara.close()  # the browser is gone and does not come back
    requeued = await system(v, "requeued")
    assert "first in line" in requeued["text"]
    handed = await omid.expect("assigned", lambda f: f["conversation_id"] == conv_id, timeout=15)
    assert handed["conversation"]["visitor"]["id"]
    history = await omid.expect("message", lambda f: f.get("text") == "hello")
    assert history["from"] == "visitor"
    assert conv_hash(fast.redis_url, conv_id)["agent"] == omid_id(fast)


def omid_id(live: LiveServer) -> str:
    r = redis.Redis.from_url(live.redis_url, decode_responses=True)
    try:
        return str(r.hget(K.accounts_by_email(), "omid@example.com"))
    finally:
        r.close()


async def test_an_agent_who_does_not_answer_loses_the_chat(fast: LiveServer) -> None:
    set_policy(fast.redis_url, assign_timeout_s=1)
    fast.start_node(FAST_NODE)
    fast.add_agent("sara@example.com", name="Sara", capacity=1)
    fast.add_agent("omid@example.com", name="Omid", capacity=1)
    sara, _ = await cl.agent(fast.ws_url, fast.login("sara@example.com"))
    v, conv_id = await start_chat(fast)
    await sara.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    omid, _ = await cl.agent(fast.ws_url, fast.login("omid@example.com"))
    gone = await sara.expect("unassigned", timeout=15)
    assert gone == {"type": "unassigned", "conversation_id": conv_id, "reason": "requeued"}
    await omid.expect("assigned", lambda f: f["conversation_id"] == conv_id, timeout=15)
    await omid.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "o1", "text": "Hi!"}
    )
    await v.expect("message", lambda f: f.get("client_id") == "o1")


async def test_sla_breach_is_recorded_and_shown_to_agents_only(fast: LiveServer) -> None:
    set_policy(fast.redis_url, sla_first_response_s=1, assign_timeout_s=0)
    fast.start_node(FAST_NODE)
    fast.add_agent("sara@example.com", name="Sara")
    sara, _ = await cl.agent(fast.ws_url, fast.login("sara@example.com"))
    v, conv_id = await start_chat(fast)
    breach = await system(sara, "sla_breach")
    assert breach["text"] == "First response target missed"
    assert conv_hash(fast.redis_url, conv_id)["sla_first_breached_at"]
    await sara.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "s1", "text": "Sorry!"}
    )
    await v.expect("message", lambda f: f.get("client_id") == "s1")
    assert not [f for f in v.frames if f.get("event") == "sla_breach"]
    assert conv_hash(fast.redis_url, conv_id)["first_response_ms"]


async def test_a_silent_visitor_is_nudged_then_parked(fast: LiveServer) -> None:
    set_policy(fast.redis_url, nudge_after_s=1, park_after_s=1)
    fast.start_node(FAST_NODE)
    fast.add_agent("sara@example.com", name="Sara")
    sara, _ = await cl.agent(fast.ws_url, fast.login("sara@example.com"))
    v, conv_id = await start_chat(fast)
    await sara.expect("assigned")
    await sara.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "s1", "text": "Hello?"}
    )
    assert (await system(v, "nudge"))["text"] == "Are you still there?"
    await system(v, "parked")
    assert conv_hash(fast.redis_url, conv_id)["status"] == "waiting_on_visitor"
    await v.send({"type": "message", "client_id": "back", "text": "Sorry, I am back"})
    await sara.expect("message", lambda f: f.get("client_id") == "back")
    conv = conv_hash(fast.redis_url, conv_id)
    assert conv["status"] == "waiting_on_agent" and conv["parked"] == ""


async def test_a_long_queue_offers_the_offline_path_and_keeps_the_chat(fast: LiveServer) -> None:
    set_policy(fast.redis_url, queue_timeout_s=1, visitor_grace_s=1)
    fast.start_node(FAST_NODE)
    v, conv_id = await start_chat(fast, "anyone there?")
    offer = await system(v, "queue_timeout")
    assert "email" in offer["text"]
    # The visitor leaves an email and goes: the conversation stays queued for follow-up.
    await v.close()
    v2, _ = await cl.visitor(fast.ws_url, token=v.token, email="mina@example.com")
    await v2.close()
    await asyncio.sleep(3)
    assert conv_hash(fast.redis_url, conv_id)["status"] == "queued"


async def test_a_visitor_who_leaves_unanswered_is_missed(fast: LiveServer) -> None:
    set_policy(fast.redis_url, visitor_grace_s=1, keep_place_s=0)  # no kept place
    fast.start_node(FAST_NODE)
    v, conv_id = await start_chat(fast)
    await v.close()
    for _ in range(100):
        if conv_hash(fast.redis_url, conv_id)["status"] == "missed":
            break
        await asyncio.sleep(0.1)
    assert conv_hash(fast.redis_url, conv_id)["status"] == "missed"
    r = redis.Redis.from_url(fast.redis_url, decode_responses=True)
    assert r.zscore(K.open_conversations("demo"), conv_id) is None
    assert r.zcard(K.queue("demo", "")) == 0
    r.close()


async def test_an_answered_visitor_who_leaves_is_abandoned_and_frees_the_agent(
    fast: LiveServer,
) -> None:
    set_policy(fast.redis_url, visitor_grace_s=1, abandon_after_s=2)
    fast.start_node(FAST_NODE)
    agent_id = fast.add_agent("sara@example.com", name="Sara", capacity=1)
    sara, _ = await cl.agent(fast.ws_url, fast.login("sara@example.com"))
    v, conv_id = await start_chat(fast)
    await sara.expect("assigned")
    await sara.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "s1", "text": "Hi"}
    )
    await v.expect("message", lambda f: f.get("client_id") == "s1")
    await v.close()
    ended = await sara.expect("resolved", timeout=15)
    assert ended["status"] == "abandoned" and ended["by"] == "system"
    r = redis.Redis.from_url(fast.redis_url, decode_responses=True)
    assert r.scard(K.agent_conversations("demo", agent_id)) == 0
    r.close()
    # The freed slot takes the next visitor at once.
    _, conv2 = await start_chat(fast)
    await sara.expect("assigned", lambda f: f["conversation_id"] == conv2)


async def test_a_visitor_writing_after_the_end_reopens_the_same_chat(fast: LiveServer) -> None:
    set_policy(fast.redis_url)
    fast.start_node(FAST_NODE)
    fast.add_agent("sara@example.com", name="Sara")
    sara, _ = await cl.agent(fast.ws_url, fast.login("sara@example.com"))
    v, conv_id = await start_chat(fast)
    await sara.expect("assigned")
    await sara.send({"type": "resolve", "conversation_id": conv_id})
    await v.expect("resolved")
    await v.send({"type": "message", "client_id": "again", "text": "One more thing"})
    ack = await v.expect("ack", lambda f: f["client_id"] == "again")
    assert ack["conversation_id"] == conv_id
    await system(v, "reopened")
    await sara.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    await sara.expect("message", lambda f: f.get("client_id") == "again")
    # The visitor saw each stored message once.
    ids = [f["id"] for f in v.frames if f.get("type") == "message"]
    assert len(ids) == len(set(ids))
    assert stream_events(fast.redis_url, conv_id).count("reopened") == 1


async def test_each_deadline_fires_once_across_two_nodes_and_survives_their_death(
    fast: LiveServer,
) -> None:
    set_policy(fast.redis_url, queue_timeout_s=2, visitor_grace_s=600)
    n1 = fast.start_node(FAST_NODE)
    n2 = fast.start_node(FAST_NODE)
    chats = await asyncio.gather(*(start_chat(fast) for _ in range(60)))
    conv_ids = [conv_id for _, conv_id in chats]
    # Both nodes die before any deadline: the node that set the timers and the other.
    n1.kill()
    n2.kill()
    fast.nodes.clear()
    await asyncio.sleep(2.5)
    assert sum(stream_events(fast.redis_url, c).count("queue_timeout") for c in conv_ids) == 0
    fast.start_node(FAST_NODE)
    fast.start_node(FAST_NODE)
    for _ in range(150):
        fired = [stream_events(fast.redis_url, c).count("queue_timeout") for c in conv_ids]
        if all(fired):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # both nodes keep polling: nothing fires a second time
    fired = [stream_events(fast.redis_url, c).count("queue_timeout") for c in conv_ids]
    report(
        f"deadlines: {len(conv_ids)}, fired once: {fired.count(1)}, twice or more: "
        f"{sum(1 for n in fired if n > 1)}, never: {fired.count(0)}"
    )
    assert fired == [1] * len(conv_ids)


async def test_a_transferred_chat_the_new_agent_leaves_unanswered_moves_on(
    fast: LiveServer,
) -> None:
    set_policy(fast.redis_url, assign_timeout_s=2)
    fast.start_node(FAST_NODE)
    fast.add_agent("sara@example.com", name="Sara", capacity=1)
    omid = fast.add_agent("omid@example.com", name="Omid", capacity=1)
    sara, _ = await cl.agent(fast.ws_url, fast.login("sara@example.com"))
    _, conv_id = await start_chat(fast)
    await sara.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    other, _ = await cl.agent(fast.ws_url, fast.login("omid@example.com"))
    await sara.send({"type": "transfer", "conversation_id": conv_id, "agent_id": omid})
    await other.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    # Omid never answers: the chat moves on (back to Sara, the only other agent).
    gone = await other.expect("unassigned", timeout=15)
    assert gone["reason"] == "requeued"
    await sara.expect("assigned", lambda f: f["conversation_id"] == conv_id, timeout=15)
