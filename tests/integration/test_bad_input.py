"""Every error code of docs/protocol.md, provoked over a live socket; the socket survives."""

from __future__ import annotations

import asyncio
import json

import msgpack
import pytest
import websockets

from tests import client as cl
from tests.servers import LiveServer


async def error_for(c: cl.Client, data: dict[str, object] | str | bytes) -> dict[str, object]:
    await c.send(data)
    return await c.expect("error")


async def still_works(c: cl.Client) -> None:
    await c.send({"type": "ping"})
    await c.expect("pong")


async def test_visitor_frame_errors(live_server: LiveServer) -> None:
    c = await cl.Client.connect(f"{live_server.ws_url}/ws/visitor?site=demo")
    assert (await error_for(c, {"type": "message", "client_id": "m1", "text": "x"}))[
        "code"
    ] == "not_ready"
    await c.send({"type": "hello"})
    await c.expect("welcome")
    cases: list[tuple[dict[str, object] | str | bytes, str]] = [
        ("{oops", "bad_frame"),
        ("[]", "bad_frame"),
        (b"\xc1\xc1", "bad_frame"),
        ("x" * 20_000, "too_large"),
        ({"type": "dance"}, "unknown_type"),
        ({"no": "type"}, "unknown_type"),
        ({"type": "message", "client_id": "m1"}, "invalid_field"),
        ({"type": "message", "client_id": "m1", "text": "x" * 4001}, "invalid_field"),
        ({"type": "message", "client_id": "m1", "text": "x", "extra": 1}, "invalid_field"),
        ({"type": "message", "client_id": "no spaces", "text": "x"}, "invalid_field"),
        ({"type": "hello"}, "already_hello"),
        ({"type": "sync", "conversation_id": "c_someoneelse"}, "forbidden"),
        ({"type": "read", "conversation_id": "c_someoneelse", "id": "1-0"}, "forbidden"),
        ({"type": "resolve"}, "not_found"),
    ]
    for data, code in cases:
        err = await error_for(c, data)
        assert err["code"] == code, (data, err)
        assert isinstance(err["message"], str) and "Traceback" not in err["message"]
        await still_works(c)
    err = await error_for(c, {"type": "message", "client_id": "m7", "text": ""})
    assert err["ref"] == "m7" and err["field"] == "text"
    await c.close()
    assert live_server.nodes[0].crashes() == []


async def test_another_visitors_conversation_is_refused(live_server: LiveServer) -> None:
    owner, _ = await cl.visitor(live_server.ws_url)
    await owner.send({"type": "message", "client_id": "secret", "text": "my address is ..."})
    conv_id = (await owner.expect("ack"))["conversation_id"]
    intruder, _ = await cl.visitor(live_server.ws_url)
    err = await error_for(intruder, {"type": "sync", "conversation_id": conv_id})
    assert err["code"] == "forbidden"
    await asyncio.sleep(0.3)
    assert not intruder.of_type("message")


async def test_agent_errors(live_server: LiveServer) -> None:
    live_server.add_agent("a@example.com", name="A", capacity=1)
    live_server.add_agent("b@example.com", name="B", capacity=1)
    a, _ = await cl.agent(live_server.ws_url, live_server.login("a@example.com"))
    v1, _ = await cl.visitor(live_server.ws_url)
    await v1.send({"type": "message", "client_id": "m1", "text": "first"})
    conv1 = (await v1.expect("ack"))["conversation_id"]
    await a.expect("assigned")
    # B is away, so the next visitor waits in the queue.
    b, _ = await cl.agent(live_server.ws_url, live_server.login("b@example.com"), status="away")
    v2, _ = await cl.visitor(live_server.ws_url)
    await v2.send({"type": "message", "client_id": "m2", "text": "second"})
    conv2 = (await v2.expect("ack"))["conversation_id"]
    queued = await v2.expect("queue")
    assert queued["position"] == 1

    msg = {"type": "message", "conversation_id": conv1, "client_id": "x1", "text": "hijack"}
    assert (await error_for(b, msg))["code"] == "forbidden"
    assert (await error_for(b, {"type": "typing", "conversation_id": conv1, "state": True}))[
        "code"
    ] == "forbidden"
    assert (await error_for(b, {"type": "sync", "conversation_id": conv1}))["code"] == "forbidden"
    assert (await error_for(b, {"type": "claim", "conversation_id": "c_nope"}))[
        "code"
    ] == "not_found"
    assert (await error_for(b, {"type": "claim", "conversation_id": conv1}))["code"] == "conflict"
    assert (await error_for(a, {"type": "claim", "conversation_id": conv2}))["code"] == "capacity"
    assert (await error_for(b, {"type": "resolve", "conversation_id": conv1}))[
        "code"
    ] == "forbidden"
    await a.send({"type": "resolve", "conversation_id": conv1})
    await a.expect("resolved")
    closed = {"type": "message", "conversation_id": conv1, "client_id": "late", "text": "bye"}
    assert (await error_for(a, closed))["code"] == "conversation_closed"
    assert (await error_for(a, {"type": "status", "status": "asleep"}))["code"] == "invalid_field"
    await still_works(a)
    await still_works(b)
    assert live_server.nodes[0].crashes() == []


async def test_unauthenticated_agent_socket_is_closed(live_server: LiveServer) -> None:
    c = await cl.Client.connect(
        f"{live_server.ws_url}/ws/agent", headers={"Authorization": "Bearer forged"}
    )
    err = await c.expect("error")
    assert err["code"] == "unauthorized"
    await asyncio.sleep(0.2)
    assert c.closed_code == 4401


async def test_origin_and_site_are_checked(live_server: LiveServer) -> None:
    from tests.servers import run_async

    async def restrict() -> None:
        from chatserver.store import Store

        store = Store.from_url(live_server.redis_url)
        await store.update_site("shop", {"allowed_origins": "https://shop.example"})
        await store.close()

    run_async(restrict())
    ok = await cl.Client.connect(
        f"{live_server.ws_url}/ws/visitor?site=shop", origin="https://shop.example"
    )
    await ok.send({"type": "hello"})
    assert (await ok.expect("welcome"))["site"] == "shop"
    with pytest.raises(websockets.InvalidStatus) as info:
        await cl.Client.connect(
            f"{live_server.ws_url}/ws/visitor?site=shop", origin="https://evil.example"
        )
    assert info.value.response.status_code == 403
    # An unknown site is accepted, then closed with 4404, so the client can read why.
    gone = await cl.Client.connect(f"{live_server.ws_url}/ws/visitor?site=nosuchsite")
    await asyncio.gather(gone._reader, return_exceptions=True)
    assert gone.closed_code == 4404


async def test_msgpack_subprotocol(live_server: LiveServer) -> None:
    v = await cl.Client.connect(f"{live_server.ws_url}/ws/visitor?site=demo", fmt="msgpack")
    assert v.ws.subprotocol == "msgpack"
    await v.send({"type": "hello", "locale": "fa-IR"})
    await v.expect("welcome")
    await v.send({"type": "message", "client_id": "mp1", "text": "با msgpack"})
    ack = await v.expect("ack")
    echo = await v.expect("message")
    assert echo["id"] == ack["id"] and echo["text"] == "با msgpack"
    # A JSON text frame is still understood on a msgpack connection.
    await v.ws.send(json.dumps({"type": "ping"}))
    await v.expect("pong")
    await v.ws.send(msgpack.packb([1, 2]))
    assert (await v.expect("error"))["code"] == "bad_frame"


async def test_flood_is_limited_then_disconnected(live_server: LiveServer) -> None:
    v, _ = await cl.visitor(live_server.ws_url)
    for i in range(200):
        try:
            await v.send({"type": "typing", "state": bool(i % 2)})
        except websockets.ConnectionClosed:
            break
    err = await v.expect("error", lambda f: f["code"] == "rate_limited")
    assert err["retry_after"] > 0
    for _ in range(50):
        if v.closed_code is not None:
            break
        await asyncio.sleep(0.1)
    assert v.closed_code == 4008
    # Others are unaffected.
    other, _ = await cl.visitor(live_server.ws_url)
    await still_works(other)
