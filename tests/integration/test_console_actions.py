"""The console's agent frames over real sockets: notes, transfers, reopening, and that an
agent never reaches another site's conversations (WebSocket and HTTP)."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from chatserver.store import Store
from tests import client as cl
from tests.servers import LiveServer


async def _store(live: LiveServer) -> Store:
    return Store.from_url(live.redis_url)


async def _open_chat(
    live: LiveServer, agent: cl.Client, text: str = "Hello"
) -> tuple[cl.Client, str]:
    """A visitor writes; the (only online) agent gets the chat. Returns (visitor, conv id)."""
    v, _ = await cl.visitor(live.ws_url)
    await v.send({"type": "message", "client_id": cl.client_id(), "text": text})
    conv_id = (await v.expect("ack"))["conversation_id"]
    await agent.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    await agent.expect("synced", lambda f: f["conversation_id"] == conv_id)
    await v.expect("assigned")
    return v, conv_id


def _http(live: LiveServer, path: str, token: str) -> tuple[int, Any]:
    req = urllib.request.Request(live.base_url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


async def test_a_note_never_reaches_the_visitor(live_server: LiveServer) -> None:
    live_server.add_agent("sara@example.com", name="Sara")
    agent, _ = await cl.agent(live_server.ws_url, live_server.login("sara@example.com"))
    v, conv_id = await _open_chat(live_server, agent)
    store = await _store(live_server)
    before = await store.get_conversation("demo", conv_id)

    await agent.send(
        {"type": "note", "conversation_id": conv_id, "client_id": "n1", "text": "VIP customer"}
    )
    ack = await agent.expect("ack", lambda f: f["client_id"] == "n1")
    note = await agent.expect("message", lambda f: f["id"] == ack["id"])
    assert note["from"] == "note" and note["text"] == "VIP customer"
    # A retry is stored once.
    await agent.send(
        {"type": "note", "conversation_id": conv_id, "client_id": "n1", "text": "VIP customer"}
    )
    assert (await agent.expect("ack", lambda f: f["client_id"] == "n1"))["duplicate"] is True

    # The next message still reaches the visitor, in order, with nothing in between.
    await agent.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "a1", "text": "Hi!"}
    )
    await v.expect("message", lambda f: f["text"] == "Hi!")
    assert not any(f.get("from") == "note" or "VIP" in str(f) for f in v.frames)

    # A note changes neither the status nor the response clock.
    after_note = await store.get_conversation("demo", conv_id)
    assert after_note is not None and before is not None
    assert after_note["status"] == "waiting_on_visitor"  # moved by the reply, not the note
    assert before["unanswered_since"] != ""

    # The visitor reloads: a resume from its cursor and a full replay both skip the note.
    for cursor in (None, "0-0"):
        token = v.token
        await v.close()
        v, welcome = await cl.visitor(live_server.ws_url, token=token, cursor=cursor)
        assert welcome["conversation"]["id"] == conv_id
        await v.expect("synced")
        texts = [f["text"] for f in v.of_type("message")]
        assert "Hi!" in texts and "VIP customer" not in texts
        assert not any(f.get("from") == "note" for f in v.frames)
    await v.close()
    await agent.close()
    await store.close()


async def test_transfer_to_an_agent_moves_the_load(live_server: LiveServer) -> None:
    sara = live_server.add_agent("sara@example.com", name="Sara", capacity=2)
    reza = live_server.add_agent("reza@example.com", name="Reza", capacity=1)
    a, _ = await cl.agent(live_server.ws_url, live_server.login("sara@example.com"))
    v, conv_id = await _open_chat(live_server, a)
    b, _ = await cl.agent(live_server.ws_url, live_server.login("reza@example.com"), status="away")
    store = await _store(live_server)

    # Away: refused, and nothing moved.
    await a.send({"type": "transfer", "conversation_id": conv_id, "agent_id": reza})
    err = await a.expect("error")
    assert err["code"] == "agent_unavailable" and err["ref"] == conv_id
    assert await store.agent_conversation_ids("demo", sara) == [conv_id]

    await b.send({"type": "status", "status": "online"})
    await b.expect("status", lambda f: f["status"] == "online")
    await a.send(
        {"type": "transfer", "conversation_id": conv_id, "agent_id": reza, "note": "Refund case"}
    )
    gone = await a.expect("unassigned")
    assert gone["conversation_id"] == conv_id and gone["reason"] == "transferred"
    got = await b.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    assert got["conversation"]["agent"]["name"] == "Reza"
    await b.expect("synced", lambda f: f["conversation_id"] == conv_id)
    history = [f for f in b.of_type("message") if f["conversation_id"] == conv_id]
    assert [f.get("event") for f in history if f["from"] == "system"][-2:] == [
        "transferred",
        "transfer_note",
    ]
    assert history[-1]["text"] == "Refund case"
    # Loads are the sets: moved in one step.
    assert await store.agent_conversation_ids("demo", sara) == []
    assert await store.agent_conversation_ids("demo", reza) == [conv_id]
    seen = await v.expect("message", lambda f: f.get("event") == "transferred")
    assert seen["text"] == "Sara transferred the chat to Reza"
    # Sara no longer follows it; Reza is at capacity, so a transfer back to him is refused.
    await v.send({"type": "message", "client_id": "v2", "text": "Still there?"})
    await b.expect("message", lambda f: f.get("text") == "Still there?")
    await asyncio.sleep(0.2)
    assert not any(f.get("text") == "Still there?" for f in a.frames)
    assert not any(f.get("event") == "transfer_note" for f in v.frames)

    v2, conv2 = await _open_chat(live_server, a, "Second")
    await a.send({"type": "transfer", "conversation_id": conv2, "agent_id": reza})
    assert (await a.expect("error"))["code"] == "capacity"
    # Not Sara's to transfer any more.
    await a.send({"type": "transfer", "conversation_id": conv_id, "agent_id": sara})
    assert (await a.expect("error"))["code"] in ("invalid_field", "forbidden")
    for c in (a, b, v, v2):
        await c.close()
    await store.close()


async def test_transfer_to_a_department_queues_ahead_of_newer(live_server: LiveServer) -> None:
    # Sara serves Sales (and the general queue), not Billing: the chat stays in Billing's queue.
    sara = live_server.add_agent("sara@example.com", name="Sara", capacity=1, departments="Sales")
    store = await _store(live_server)
    await store.update_site("demo", {"departments": "Sales,Billing"})
    a, _ = await cl.agent(live_server.ws_url, live_server.login("sara@example.com"))
    v, conv_id = await _open_chat(live_server, a)
    await a.send({"type": "transfer", "conversation_id": conv_id, "department": "Nowhere"})
    assert (await a.expect("error"))["field"] == "department"
    # A newer visitor waits in Billing already.
    newer, _ = await cl.visitor(live_server.ws_url, department="Billing")
    await newer.send({"type": "message", "client_id": "x1", "text": "Invoice?"})
    newer_id = (await newer.expect("ack"))["conversation_id"]

    await a.send(
        {"type": "transfer", "conversation_id": conv_id, "department": "Billing", "note": "n"}
    )
    assert (await a.expect("unassigned"))["reason"] == "requeued"
    entries = await store.queue_entries("demo")
    assert [e[0] for e in entries if e[1] == "Billing"][:2] == [conv_id, newer_id]
    conv = await store.get_conversation("demo", conv_id)
    assert conv is not None and conv["status"] == "queued" and conv["department"] == "Billing"
    assert await store.agent_conversation_ids("demo", sara) == []
    msg = await v.expect("message", lambda f: f.get("event") == "requeued")
    assert "Billing" in msg["text"]
    for c in (a, v, newer):
        await c.close()
    await store.close()


async def test_agent_reopen_checks_capacity(live_server: LiveServer) -> None:
    live_server.add_agent("sara@example.com", name="Sara", capacity=1)
    a, _ = await cl.agent(live_server.ws_url, live_server.login("sara@example.com"))
    v, conv_id = await _open_chat(live_server, a)
    await a.send({"type": "resolve", "conversation_id": conv_id})
    await a.expect("resolved", lambda f: f["conversation_id"] == conv_id)

    await a.send({"type": "reopen", "conversation_id": conv_id})
    back = await a.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    assert back["conversation"]["status"] == "assigned"
    await v.expect("message", lambda f: f.get("event") == "reopened")
    store = await _store(live_server)
    conv = await store.get_conversation("demo", conv_id)
    assert conv is not None and conv["status"] == "assigned"
    # An open conversation cannot be reopened; at capacity nothing can.
    await a.send({"type": "reopen", "conversation_id": conv_id})
    assert (await a.expect("error"))["code"] == "conflict"
    await a.send({"type": "resolve", "conversation_id": conv_id})
    await a.expect("resolved", lambda f: f["conversation_id"] == conv_id)
    v2, _conv2 = await _open_chat(live_server, a, "Another")
    await a.send({"type": "reopen", "conversation_id": conv_id})
    assert (await a.expect("error"))["code"] == "capacity"
    for c in (a, v, v2):
        await c.close()
    await store.close()


async def test_an_agent_never_reaches_another_sites_conversations(
    live_server: LiveServer,
) -> None:
    live_server.add_agent("sara@example.com", name="Sara")
    live_server.add_agent("mallory@example.com", name="Mallory", site="other")
    a, _ = await cl.agent(live_server.ws_url, live_server.login("sara@example.com"))
    v, conv_id = await _open_chat(live_server, a, "My address is 1 Secret Road")
    mallory_token = live_server.login("mallory@example.com")
    m, welcome = await cl.agent(live_server.ws_url, mallory_token)
    assert welcome["conversations"] == [] and welcome["queue"] == []

    frames: list[dict[str, Any]] = [
        {"type": "sync", "conversation_id": conv_id},
        {"type": "typing", "conversation_id": conv_id, "state": True},
        {"type": "read", "conversation_id": conv_id, "id": "1-0"},
        {"type": "claim", "conversation_id": conv_id},
        {"type": "resolve", "conversation_id": conv_id},
        {"type": "message", "conversation_id": conv_id, "client_id": "x", "text": "hi"},
        {"type": "note", "conversation_id": conv_id, "client_id": "y", "text": "hi"},
        {"type": "transfer", "conversation_id": conv_id, "department": ""},
        {"type": "reopen", "conversation_id": conv_id},
    ]
    for frame in frames:
        await m.send(frame)
        err = await m.expect("error")
        assert err["code"] in ("forbidden", "not_found"), (frame, err)
    await asyncio.sleep(0.2)
    assert not any("Secret" in json.dumps(f) for f in m.frames)

    # HTTP: the history and transcript APIs answer for Sara's site only.
    store = await _store(live_server)
    conv = await store.get_conversation("demo", conv_id)
    assert conv is not None
    visitor_id = conv["visitor"]
    sara_token = live_server.login("sara@example.com")
    status, body = _http(live_server, f"/api/console/conversations/{conv_id}/messages", sara_token)
    assert status == 200 and "Secret" in json.dumps(body)
    status, body = _http(
        live_server, f"/api/console/visitors/{visitor_id}/conversations", sara_token
    )
    assert status == 200 and [c["id"] for c in body["items"]] == [conv_id]
    for path in (
        f"/api/console/conversations/{conv_id}/messages",
        f"/api/console/visitors/{visitor_id}/conversations",
    ):
        status, body = _http(live_server, path, mallory_token)
        assert (status, json.dumps(body).count("Secret")) in ((404, 0), (200, 0))
        if status == 200:
            assert body["items"] == []
    status, _ = _http(live_server, f"/api/console/conversations/{conv_id}/messages", "nope")
    assert status == 401
    # Mallory's team is her own site's.
    _, team = _http(live_server, "/api/console/team", mallory_token)
    assert [a["name"] for a in team["agents"]] == ["Mallory"]
    for c in (a, v, m):
        await c.close()
    await store.close()
