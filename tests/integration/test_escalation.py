"""Escalations on a real server: a response target at risk, then missed, reaches the
supervisors' sockets (not the agents'), the webhook feed records both, and with
reassign-on-breach the silent agent loses the chat to the queue.

The server polls the timers every second against real time; the test fires them itself at
chosen instants past the target (which the server's own poll reaches only a minute later),
so each step is seen exactly when it is due, through the same script and the same bus."""

from __future__ import annotations

from chatserver.core.sla import SlaPolicy
from chatserver.messages import Outgoing
from chatserver.store import Store
from tests import client as cl
from tests.servers import LiveServer


async def test_at_risk_then_breached_then_reassigned(live_server: LiveServer) -> None:
    live = live_server
    store = Store.from_url(live.redis_url)
    try:
        # A 60 s first-response target (at risk from 48 s); reassign 30 s after a breach.
        settings = {"sla_first_response_s": "60", "sla_breach_reassign_s": "30", "feed": "1"}
        await store.update_site("demo", settings)
        policy = SlaPolicy.from_settings(await store.get_site("demo"))
        ann_id = live.add_agent("ann@example.com", name="Ann")
        bob_id = live.add_agent("bob@example.com", name="Bob")
        live.add_agent("mina@example.com", name="Mina", role="supervisor")
        ann, _ = await cl.agent(live.ws_url, live.login("ann@example.com"))
        # Bob is away while the chat is routed (so it is Ann's), online before it moves on.
        bob, _ = await cl.agent(live.ws_url, live.login("bob@example.com"), status="away")
        mina, _ = await cl.agent(live.ws_url, live.login("mina@example.com"), status="away")
        visitor, _ = await cl.visitor(live.ws_url)
        await visitor.send({"type": "message", "client_id": "v1", "text": "Anyone there?"})
        ack = await visitor.expect("ack")
        conv, t0 = ack["conversation_id"], ack["ts"]
        await ann.expect("assigned", lambda f: f["conversation_id"] == conv)
        timer = f"frt|{conv}"
        assert await store.timer_due("demo", timer) == t0 + 48_000  # first at the risk point

        assert await store.fire_timer("demo", timer, t0 + 48_500, policy) == "later"
        risk = await mina.expect("escalation")
        assert (risk["level"], risk["clock"], risk["agent_id"]) == ("at_risk", "first", ann_id)
        assert risk["conversation_id"] == conv and risk["conversation"]["agent"]["name"] == "Ann"
        assert await store.timer_due("demo", timer) == t0 + 60_000  # then at the deadline

        assert await store.fire_timer("demo", timer, t0 + 60_100, policy) == "fired"
        late = await mina.expect("escalation")
        assert (late["level"], late["clock"]) == ("breached", "first")
        await ann.expect("message", lambda f: f.get("event") == "sla_breach")
        brs = f"brs|{conv}"
        assert await store.timer_due("demo", brs) == t0 + 90_100

        # Ann stays silent: the chat goes back to the queue, and to someone else (Ann is
        # tried last for it).
        await bob.send({"type": "status", "status": "online"})
        await bob.expect("status", lambda f: f["status"] == "online")
        assert await store.fire_timer("demo", brs, t0 + 90_200, policy) == "fired"
        lost = await ann.expect("unassigned", lambda f: f["conversation_id"] == conv)
        assert lost["reason"] == "requeued"
        await visitor.expect("message", lambda f: f.get("event") == "requeued")
        await bob.expect("assigned", lambda f: f["conversation_id"] == conv)
        kept = await store.get_conversation("demo", conv)
        assert kept is not None and kept["agent"] == bob_id and kept["skip_agent"] == ann_id
        assert not any(f["type"] == "escalation" for f in (*ann.frames, *bob.frames))

        feed = [f for _, f in await store.feed_after("demo", "0-0", 1000)]
        types = [f["t"] for f in feed]
        assert types.index("sla.at_risk") < types.index("sla.breached"), types
        requeued = [f for f in feed if f["t"] == "conversation.requeued"]
        assert len(requeued) == 1 and '"reason":"sla_breach"' in requeued[0]["d"]
    finally:
        await store.close()
    for c in (ann, bob, mina, visitor):
        await c.close()


async def test_an_agent_who_answers_after_the_breach_keeps_the_chat(
    live_server: LiveServer,
) -> None:
    live = live_server
    store = Store.from_url(live.redis_url)
    try:
        await store.update_site(
            "demo", {"sla_first_response_s": "60", "sla_breach_reassign_s": "30"}
        )
        policy = SlaPolicy.from_settings(await store.get_site("demo"))
        live.add_agent("ann@example.com", name="Ann")
        ann, _ = await cl.agent(live.ws_url, live.login("ann@example.com"))
        visitor, _ = await cl.visitor(live.ws_url)
        await visitor.send({"type": "message", "client_id": "v1", "text": "Anyone there?"})
        ack = await visitor.expect("ack")
        conv, t0 = ack["conversation_id"], ack["ts"]
        await ann.expect("assigned", lambda f: f["conversation_id"] == conv)
        assert await store.fire_timer("demo", f"frt|{conv}", t0 + 60_100, policy) == "fired"
        # Ann answers after the breach, and the visitor writes again (at the test's instants,
        # through the same script as the sockets).
        kept = await store.get_conversation("demo", conv)
        assert kept is not None
        ann_id, visitor_id = kept["agent"], kept["visitor"]
        for kind, who, cid, at in (
            ("agent", ann_id, "a1", 61_000),
            ("visitor", visitor_id, "v2", 62_000),
        ):
            await store.send_message(
                Outgoing("demo", conv, kind, who, "", cid, "…", t0 + at), policy
            )
        assert await store.fire_timer("demo", f"brs|{conv}", t0 + 90_200, policy) == "noop"
        kept = await store.get_conversation("demo", conv)
        assert kept is not None and kept["agent"] != ""
    finally:
        await store.close()
    for c in (ann, visitor):
        await c.close()


async def test_a_visitor_waiting_for_an_email_reply_is_followed_up(
    live_server: LiveServer,
) -> None:
    live = live_server
    store = Store.from_url(live.redis_url)
    try:
        policy = SlaPolicy.from_settings(await store.get_site("demo"))
        live.add_agent("mina@example.com", name="Mina", role="supervisor")
        mina, _ = await cl.agent(live.ws_url, live.login("mina@example.com"), status="away")
        visitor, _ = await cl.visitor(live.ws_url)  # nobody online: it stays queued
        await visitor.send({"type": "message", "client_id": "v1", "text": "Anyone?"})
        ack = await visitor.expect("ack")
        conv, t0 = ack["conversation_id"], ack["ts"]
        offered = t0 + policy.ms("queue_timeout_s") + 100
        assert await store.fire_timer("demo", f"qto|{conv}", offered, policy) == "fired"
        await visitor.expect("message", lambda f: f.get("event") == "queue_timeout")
        period = policy.ms("follow_up_after_s")
        timer = f"followup|{conv}"
        assert await store.timer_due("demo", timer) == offered + period
        # No address yet: nothing to follow up, it looks again later.
        assert await store.fire_timer("demo", timer, offered + period, policy) == "later"
        await visitor.send({"type": "identify", "email": "ali@example.com"})
        await visitor.send({"type": "ping"})
        await visitor.expect("pong")
        again = offered + 2 * period
        assert await store.fire_timer("demo", timer, again, policy) == "fired"
        reminder = await mina.expect("escalation")
        assert (reminder["level"], reminder["clock"]) == ("follow_up", "email")
        assert reminder["conversation"]["visitor"]["email"] == "ali@example.com"
        assert await store.timer_due("demo", timer) == again + period  # and so on
    finally:
        await store.close()
    for c in (mina, visitor):
        await c.close()
