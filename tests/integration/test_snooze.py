"""Snooze over the real protocol: a chat that waits on the visitor leaves the agent's working
list until a time, comes back to them (or, when they are gone, to the queue), and any
message ends it early; the visitor is never told. Timers are fired by the test at chosen
instants past the snooze, which the server's own poll reaches only much later."""

from __future__ import annotations

import asyncio
from typing import Any

from chatserver.core.sla import SlaPolicy
from chatserver.store import Store
from tests import client as cl
from tests.servers import LiveServer

HOUR = 3600_000


def system(event: str) -> Any:
    return lambda f: f.get("from") == "system" and f.get("event") == event


async def test_snooze_comes_back_and_a_message_ends_it(live_server: LiveServer) -> None:
    live = live_server
    store = Store.from_url(live.redis_url)
    try:
        policy = SlaPolicy.from_settings(await store.get_site("demo"))
        live.add_agent("ann@example.com", name="Ann")
        ann, welcome = await cl.agent(live.ws_url, live.login("ann@example.com"))
        visitor, _ = await cl.visitor(live.ws_url)
        await visitor.send({"type": "message", "client_id": "v1", "text": "Can you check?"})
        conv = (await visitor.expect("ack"))["conversation_id"]
        await ann.expect("assigned", lambda f: f["conversation_id"] == conv)

        # Waiting on the agent: nothing to snooze.
        until = welcome["server_time"] + HOUR
        await ann.send({"type": "snooze", "conversation_id": conv, "until": until})
        refused = await ann.expect("error")
        assert refused["code"] == "conflict" and refused["ref"] == conv
        await ann.send(
            {"type": "message", "conversation_id": conv, "client_id": "a1", "text": "On it"}
        )
        await ann.expect("ack")
        for bad in (-1, welcome["server_time"] - 1, welcome["server_time"] + 31 * 24 * HOUR):
            await ann.send({"type": "snooze", "conversation_id": conv, "until": bad})
            assert (await ann.expect("error"))["code"] == "invalid_field", bad

        await ann.send({"type": "snooze", "conversation_id": conv, "until": until})
        snoozed = await ann.expect("message", system("snoozed"))
        assert snoozed["text"].startswith("Snoozed until ")
        kept = await store.get_conversation("demo", conv)
        assert kept is not None and kept["snoozed_until"] == str(until)
        assert await store.timer_due("demo", f"snooze|{conv}") == until
        assert await store.timer_due("demo", f"nudge|{conv}") is None  # no nudge meanwhile

        # The time comes, Ann is here: it is hers again.
        assert await store.fire_timer("demo", f"snooze|{conv}", until + 1, policy) == "fired"
        await ann.expect("message", system("snooze_ended"))
        kept = await store.get_conversation("demo", conv)
        assert kept is not None and kept["snoozed_until"] == "" and kept["agent"] != ""

        # Snoozed again, then the visitor writes: the snooze ends with the message.
        await ann.send({"type": "snooze", "conversation_id": conv, "until": until})
        await ann.expect("message", system("snoozed"))
        await visitor.send({"type": "message", "client_id": "v2", "text": "Any news?"})
        await ann.expect("message", lambda f: f.get("client_id") == "v2")
        kept = await store.get_conversation("demo", conv)
        assert kept is not None and kept["snoozed_until"] == ""
        assert await store.timer_due("demo", f"snooze|{conv}") is None
        await ann.send({"type": "snooze", "conversation_id": conv, "until": 0})
        assert (await ann.expect("error"))["code"] == "conflict"  # it is not snoozed

        # The visitor was told nothing of it, live or on replay.
        await ann.send(
            {"type": "message", "conversation_id": conv, "client_id": "a2", "text": "Yes!"}
        )
        await visitor.expect("message", lambda f: f.get("text") == "Yes!")
        events = [f.get("event") for f in visitor.frames if f.get("from") == "system"]
        assert "snoozed" not in events and "snooze_ended" not in events

        # Snoozed, and Ann is gone when it ends: the chat goes back to the queue.
        await ann.send({"type": "snooze", "conversation_id": conv, "until": until})
        await ann.expect("message", system("snoozed"))
        ann_id = (await store.get_conversation("demo", conv) or {})["agent"]
        await ann.close()
        for _ in range(200):  # her last socket is gone once the server drops her presence
            if not await store.r.exists(store.k.presence("demo", ann_id)):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("Ann's presence outlived her socket")
        assert await store.fire_timer("demo", f"snooze|{conv}", until + 2, policy) == "fired"
        await visitor.expect("message", system("requeued"))
        kept = await store.get_conversation("demo", conv)
        assert kept is not None and kept["status"] == "queued"
    finally:
        await store.close()
    await visitor.close()
