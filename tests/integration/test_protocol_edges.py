"""The protocol's edges as docs/protocol.md states them, checked from outside.

Each case was found by a client written only from the docs, where the server disagreed.
"""

from __future__ import annotations

import asyncio

import websockets

from tests import client as cl
from tests.servers import LiveServer


async def closed_code(ws: object) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 10)  # type: ignore[attr-defined]
    except websockets.ConnectionClosed:
        return ws.close_code  # type: ignore[attr-defined,no-any-return]


async def test_an_unknown_site_is_closed_with_4404(live_server: LiveServer) -> None:
    for site in ("no-such-site", "NOT%21valid"):
        ws = await websockets.connect(f"{live_server.ws_url}/ws/visitor?site={site}")
        assert await closed_code(ws) == 4404


async def test_invalid_utf8_closes_1007_without_a_traceback(live_server: LiveServer) -> None:
    v, _ = await cl.visitor(live_server.ws_url)
    # A text frame whose bytes are not UTF-8: the client library would refuse to send it, so
    # it goes out through the protocol object directly.
    conn = v.ws
    conn.protocol.send_text(b"\xff\xfe not utf-8")
    conn.transport.write(b"".join(conn.protocol.data_to_send()))
    await asyncio.gather(v._reader, return_exceptions=True)
    assert v.closed_code == 1007
    # The server is fine and its log holds no traceback for a client's bad bytes.
    v2, _ = await cl.visitor(live_server.ws_url)
    await v2.send({"type": "ping"})
    await v2.expect("pong")
    assert "Traceback" not in live_server.nodes[0].log_text()
    assert not live_server.nodes[0].crashes()
    await v2.close()


async def test_frames_past_four_times_the_limit_close_1009(live_server: LiveServer) -> None:
    v, _ = await cl.visitor(live_server.ws_url)
    await v.send('{"type": "ping", "x": "' + "a" * 20_000 + '"}')
    err = await v.expect("error")
    assert err["code"] == "too_large"  # over the limit: an error, the socket stays open
    await v.send({"type": "ping"})
    await v.expect("pong")
    await v.send('{"type": "ping", "x": "' + "a" * (4 * 16384 + 10) + '"}')
    await asyncio.gather(v._reader, return_exceptions=True)
    assert v.closed_code == 1009


async def test_an_agent_typing_with_a_preview_is_accepted(live_server: LiveServer) -> None:
    live = live_server
    live.add_agent("ann@example.com", name="Ann")
    a, _ = await cl.agent(live.ws_url, live.login("ann@example.com"))
    v, _ = await cl.visitor(live.ws_url)
    await v.send({"type": "message", "client_id": "m1", "text": "hi"})
    assigned = await a.expect("assigned")
    conv_id = assigned["conversation_id"]
    await a.send(
        {"type": "typing", "conversation_id": conv_id, "state": True, "preview": "Let me che"}
    )
    typing = await v.expect("typing")
    assert typing["state"] is True and "preview" not in typing  # visitors see no previews
    assert not a.of_type("error")
    await a.close()
    await v.close()


async def test_emails_are_validated_by_the_server(live_server: LiveServer) -> None:
    live = live_server
    # In hello (the page's data-email): the session starts, the address is not stored.
    v, welcome = await cl.visitor(live.ws_url, email="<b>x</b>@evil")
    err = await v.expect("error")
    assert err["code"] == "invalid_field" and err["field"] == "email"
    assert welcome["visitor_id"]
    # In identify (setUser and the forms): refused, nothing stored.
    await v.send({"type": "identify", "name": "Ali", "email": "not an email"})
    err = await v.expect("error")
    assert err["code"] == "invalid_field" and err["field"] == "email"
    await v.send({"type": "identify", "email": "علی@مثال.ایران"})
    await v.send({"type": "ping"})
    await v.expect("pong")
    assert not v.of_type("error")
    await v.close()


async def test_sync_without_after_replays_the_whole_conversation(live_server: LiveServer) -> None:
    v, _ = await cl.visitor(live_server.ws_url)
    conv_id = ""
    for i in range(3):
        await v.send({"type": "message", "client_id": f"s{i}", "text": f"n{i}"})
        conv_id = (await v.expect("ack", lambda f, i=i: f["client_id"] == f"s{i}"))[
            "conversation_id"
        ]
    await v.send({"type": "ping"})
    await v.expect("pong")
    v.frames.clear()
    await v.send({"type": "sync", "conversation_id": conv_id})
    synced = await v.expect("synced")
    texts = [f["text"] for f in v.of_type("message") if f.get("from") == "visitor"]
    assert texts == ["n0", "n1", "n2"] and synced["last_id"]
    await v.close()
