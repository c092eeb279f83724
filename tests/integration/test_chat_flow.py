"""A whole chat over real sockets: visitor, queue, assignment, replies, resolve."""

from __future__ import annotations

from tests import client as cl
from tests.servers import LiveServer


async def test_full_chat(live_server: LiveServer) -> None:
    live_server.add_agent("sara@example.com", name="Sara", capacity=2)
    token = live_server.login("sara@example.com")
    agent, welcome = await cl.agent(live_server.ws_url, token)
    assert welcome["agent"]["name"] == "Sara"
    assert welcome["conversations"] == []

    v, vw = await cl.visitor(live_server.ws_url, page={"url": "https://shop.test/cart"})
    assert vw["conversation"] is None
    await v.send({"type": "message", "client_id": "m1", "text": "سلام، سفارشم کجاست؟"})
    ack = await v.expect("ack")
    assert ack["client_id"] == "m1" and not ack["duplicate"]
    conv_id = ack["conversation_id"]

    assigned = await agent.expect("assigned")
    assert assigned["conversation_id"] == conv_id
    assert assigned["conversation"]["visitor"]["page"]["url"] == "https://shop.test/cart"
    first = await agent.expect("message", lambda f: f["from"] == "visitor")
    assert first["text"] == "سلام، سفارشم کجاست؟" and first["id"] == ack["id"]
    await agent.expect("synced")

    joined = await v.expect("assigned")
    assert joined["agent"]["name"] == "Sara"
    await agent.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "a1", "text": "Hello!"}
    )
    reply_ack = await agent.expect("ack")
    reply = await v.expect("message", lambda f: f["from"] == "agent")
    assert reply["text"] == "Hello!" and reply["id"] == reply_ack["id"]

    await agent.send({"type": "resolve", "conversation_id": conv_id})
    await v.expect("resolved")
    await agent.expect("resolved")
    await v.close()
    await agent.close()
