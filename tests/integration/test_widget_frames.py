"""The visitor frames the widget's forms use: identify, rate, and timezone in hello."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import websockets

from chatserver.store import Store
from tests import client as cl
from tests.servers import LiveServer


@pytest_asyncio.fixture
async def store(live_server: LiveServer) -> AsyncIterator[Store]:
    s = Store.from_url(live_server.redis_url)
    yield s
    await s.close()


async def chat_with_agent(live: LiveServer) -> tuple[cl.Client, cl.Client, str]:
    """A visitor whose first message Sara (online) was assigned; returns (visitor, agent, id)."""
    live.add_agent("sara@example.com", name="Sara")
    agent, _ = await cl.agent(live.ws_url, live.login("sara@example.com"))
    v, _ = await cl.visitor(live.ws_url, timezone="Asia/Tehran")
    await v.send({"type": "message", "client_id": "m1", "text": "Hello"})
    conv_id = (await v.expect("ack"))["conversation_id"]
    await agent.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    await agent.expect("synced")
    return v, agent, conv_id


async def test_identify_stores_details_and_tells_the_agent(
    live_server: LiveServer, store: Store
) -> None:
    v, agent, conv_id = await chat_with_agent(live_server)
    await v.send({"type": "identify", "name": " Ali ", "email": "ali@example.com"})
    changed = await agent.expect("visitor", lambda f: f["conversation_id"] == conv_id)
    assert changed["visitor"]["name"] == "Ali"
    assert changed["visitor"]["email"] == "ali@example.com"
    visitor_id = (await store.get_conversation("demo", conv_id) or {})["visitor"]
    saved = await store.load_visitor("demo", visitor_id) or {}
    assert (saved["name"], saved["email"], saved["timezone"]) == (
        "Ali",
        "ali@example.com",
        "Asia/Tehran",
    )
    # The new name signs the visitor's next messages.
    await v.send({"type": "message", "client_id": "m2", "text": "It is me"})
    signed = await agent.expect("message", lambda f: f.get("client_id") == "m2")
    assert signed["author"]["name"] == "Ali"
    await v.close()
    await agent.close()


async def test_identify_department_must_be_offered(live_server: LiveServer, store: Store) -> None:
    await store.update_site("demo", {"departments": "Sales, Support"})
    v, _ = await cl.visitor(live_server.ws_url)
    await v.send({"type": "identify", "department": "Billing"})
    err = await v.expect("error")
    assert (err["code"], err["field"]) == ("invalid_field", "department")
    await v.send({"type": "identify", "department": "Support"})
    await v.send({"type": "message", "client_id": "m1", "text": "Refund?"})
    conv_id = (await v.expect("ack"))["conversation_id"]
    assert (await store.get_conversation("demo", conv_id) or {})["department"] == "Support"
    await v.close()


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({"type": "rate", "conversation_id": "c_x", "score": 6}, "score"),
        ({"type": "rate", "conversation_id": "c_x", "score": 0}, "score"),
        ({"type": "rate", "conversation_id": "c_x", "score": True}, "score"),
        ({"type": "rate", "conversation_id": "c_x", "score": "5"}, "score"),
        ({"type": "rate", "conversation_id": "c_x", "score": 5, "comment": "x" * 1001}, "comment"),
        ({"type": "hello", "timezone": "Asia/Tehran; drop"}, "timezone"),
    ],
)
async def test_bad_values_are_refused(
    live_server: LiveServer, frame: dict[str, Any], field: str
) -> None:
    if frame["type"] == "hello":
        v = await cl.Client.connect(f"{live_server.ws_url}/ws/visitor?site=demo")
    else:
        v, _ = await cl.visitor(live_server.ws_url)
    await v.send(frame)
    err = await v.expect("error")
    assert (err["code"], err["field"]) == ("invalid_field", field)
    await v.close()


async def test_rating_an_ended_chat_once(live_server: LiveServer, store: Store) -> None:
    v, agent, conv_id = await chat_with_agent(live_server)
    rate = {"type": "rate", "conversation_id": conv_id, "score": 4, "comment": "Quick, thanks"}
    await v.send(rate)
    assert (await v.expect("error"))["code"] == "not_ended"

    await agent.send({"type": "resolve", "conversation_id": conv_id})
    await v.expect("resolved")
    await v.send(rate)
    assert (await v.expect("rated")) == {"type": "rated", "conversation_id": conv_id, "score": 4}
    conv = await store.get_conversation("demo", conv_id) or {}
    assert (conv["rating"], conv["rating_comment"]) == ("4", "Quick, thanks")
    assert int(conv["rated_at"]) > 0
    # Agents (and dashboards, on the doorbell) see it as a system event of the conversation.
    seen = await agent.expect("message", lambda f: f.get("event") == "rated")
    assert seen["conversation_id"] == conv_id and seen["text"] == "Rated 4/5: Quick, thanks"

    await v.send({**rate, "score": 1})
    assert (await v.expect("error"))["code"] == "conflict"
    assert (await store.get_conversation("demo", conv_id) or {})["rating"] == "4"

    # Somebody else's conversation is not theirs to rate.
    other, _ = await cl.visitor(live_server.ws_url)
    await other.send({**rate, "score": 1})
    err = await other.expect("error")
    assert (err["code"], err["ref"]) == ("forbidden", conv_id)
    for c in (v, agent, other):
        await c.close()


async def test_pages_of_this_server_may_open_a_socket_for_any_site(
    live_server: LiveServer, store: Store
) -> None:
    await store.ensure_site("shop", allowed_origins="https://shop.test")
    url = f"{live_server.ws_url}/ws/visitor?site=shop"
    own = await cl.Client.connect(url, origin=live_server.base_url)
    await own.send({"type": "hello"})
    assert (await own.expect("welcome"))["site"] == "shop"
    await own.close()
    allowed = await cl.Client.connect(url, origin="https://shop.test")
    await allowed.close()
    with pytest.raises(websockets.InvalidStatus):
        await cl.Client.connect(url, origin="https://evil.test")
