"""Supervision over the real protocol: monitor, whisper, join, leave and take over, what the
visitor never receives (live and on replay), the audit log, and the take-over race: two
supervisors on two nodes take over one chat while its agent resolves it."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from chatserver.embedded_redis import EmbeddedRedis
from chatserver.store import Store
from tests import client as cl
from tests.servers import LiveServer, report

SECRET = ("whisper", "monitor_started", "taken_over")


def secret(frame: dict[str, Any]) -> bool:
    """A frame a visitor must never receive."""
    return frame.get("type") == "message" and (
        frame.get("from") == "whisper" or frame.get("event") in SECRET
    )


def system(event: str, conv: str) -> Any:
    return lambda f: (
        f.get("from") == "system" and f["event"] == event and (f["conversation_id"] == conv)
    )


async def say(c: cl.Client, conv: str, text: str, kind: str = "message") -> dict[str, Any]:
    cid = cl.client_id()
    await c.send({"type": kind, "conversation_id": conv, "client_id": cid, "text": text})
    return await c.expect(
        None, lambda f: f["type"] in ("ack", "error") and cid in (f.get("client_id"), f.get("ref"))
    )


async def test_monitor_whisper_join_and_take_over(live_server: LiveServer) -> None:
    live = live_server
    ann_id = live.add_agent("ann@example.com", name="Ann")
    mina_id = live.add_agent("mina@example.com", name="Mina", role="supervisor")
    ann, _ = await cl.agent(live.ws_url, live.login("ann@example.com"))
    # Away: supervisors are not routed chats (take_over to themselves is still allowed).
    mina, _ = await cl.agent(live.ws_url, live.login("mina@example.com"), status="away")
    visitor, _ = await cl.visitor(live.ws_url)
    await visitor.send({"type": "message", "client_id": "v1", "text": "سلام، سفارشم کجاست؟"})
    conv = (await visitor.expect("ack"))["conversation_id"]
    await ann.expect("assigned", lambda f: f["conversation_id"] == conv)

    # An agent cannot supervise.
    await ann.send({"type": "monitor", "conversation_id": conv})
    assert (await ann.expect("error"))["code"] == "forbidden"

    # Monitor: the summary, the history, then live; the agent is told.
    await mina.send({"type": "monitor", "conversation_id": conv})
    watching = await mina.expect("monitoring")
    assert watching["conversation"]["agent"]["id"] == ann_id
    assert watching["conversation"]["participants"] == []
    history = [await mina.expect("message", lambda f: f["conversation_id"] == conv)]
    await mina.expect("synced", lambda f: f["conversation_id"] == conv)
    assert history[0]["text"] == "سلام، سفارشم کجاست؟"
    marked = await ann.expect("message", system("monitor_started", conv))
    assert marked["author"]["name"] == "Mina"
    await visitor.send({"type": "message", "client_id": "v2", "text": "Hello?"})
    assert (await mina.expect("message", lambda f: f.get("client_id") == "v2"))["from"] == (
        "visitor"
    )
    # The monitor sees the agent type, told who.
    await ann.send({"type": "typing", "conversation_id": conv, "state": True})
    typing = await mina.expect("typing", lambda f: f["from"] == "agent")
    assert typing["author"] == {"id": ann_id, "name": "Ann"}
    # A monitor may not type or read in it, nor write as the agent.
    await mina.send({"type": "typing", "conversation_id": conv, "state": True})
    assert (await mina.expect("error"))["code"] == "forbidden"
    assert (await say(mina, conv, "hi"))["code"] == "forbidden"
    # Monitoring again (another tab, a reload) leaves no second mark.
    await mina.send({"type": "monitor", "conversation_id": conv})
    await mina.expect("monitoring")
    await mina.expect("synced", lambda f: f["conversation_id"] == conv)

    # Whisper: both agents see it, the visitor never does.
    ack = await say(mina, conv, "Offer the refund", "whisper")
    assert ack["type"] == "ack" and ack["duplicate"] is False
    whisper = await ann.expect("message", lambda f: f["from"] == "whisper")
    assert whisper["text"] == "Offer the refund" and whisper["author"]["id"] == mina_id
    await mina.expect("message", lambda f: f["from"] == "whisper")
    await say(ann, conv, "We will refund you")
    await visitor.expect("message", lambda f: f["text"] == "We will refund you")
    assert not any(secret(f) for f in visitor.frames), visitor.frames
    # ... nor on a replay from the start.
    token = visitor.token
    await visitor.close()
    visitor, _ = await cl.visitor(live.ws_url, token=token, cursor="0-0")
    await visitor.expect("synced")
    texts = [f["text"] for f in visitor.of_type("message")]
    assert "We will refund you" in texts and "Offer the refund" not in texts
    assert not any(secret(f) for f in visitor.frames)

    # Join: the visitor sees Mina's name; her messages and typing are accepted.
    await mina.send({"type": "join", "conversation_id": conv})
    joined = await visitor.expect("message", system("joined", conv))
    assert joined["author"]["name"] == "Mina"
    await mina.send({"type": "typing", "conversation_id": conv, "state": False})
    await visitor.expect("typing", lambda f: f["state"] is False and "author" not in f)
    seen = await ann.expect("typing", lambda f: f["state"] is False)
    assert seen["author"]["name"] == "Mina"
    assert (await say(mina, conv, "I am Ann's lead"))["type"] == "ack"
    got = await visitor.expect("message", lambda f: f["text"] == "I am Ann's lead")
    await mina.expect("message", lambda f: f["text"] == "I am Ann's lead")  # after her typing
    assert not any(
        f["type"] == "typing" and f["from"] == "agent" and f["author"]["id"] == mina_id
        for f in mina.frames
    )  # her own typing is not echoed
    assert got["from"] == "agent" and got["author"]["name"] == "Mina"
    await mina.send({"type": "join", "conversation_id": conv})
    assert (await mina.expect("error"))["code"] == "conflict"
    await mina.send({"type": "leave", "conversation_id": conv})
    await visitor.expect("message", system("left", conv))
    assert (await say(mina, conv, "still here?"))["code"] == "forbidden"

    # Take over: a stale holder is a conflict; then the chat is Mina's.
    await mina.send({"type": "take_over", "conversation_id": conv, "from_agent_id": mina_id})
    assert (await mina.expect("error"))["code"] == "conflict"
    await mina.send({"type": "take_over", "conversation_id": conv, "from_agent_id": ann_id})
    mine = await mina.expect("assigned", lambda f: f["conversation_id"] == conv)
    assert mine["conversation"]["agent"]["id"] == mina_id
    lost = await ann.expect("unassigned", lambda f: f["conversation_id"] == conv)
    assert lost["reason"] == "taken_over"
    moved = await visitor.expect("message", system("transferred", conv))
    assert moved["author"]["name"] == "Mina"
    await ann.send({"type": "resolve", "conversation_id": conv})
    assert (await ann.expect("error"))["code"] == "forbidden"
    assert (await say(mina, conv, "Refunded."))["type"] == "ack"
    await visitor.expect("message", lambda f: f["text"] == "Refunded.")
    assert not any(secret(f) for f in visitor.frames)

    # Back to the queue, then a whisper on an ended chat is refused.
    await mina.send(
        {"type": "take_over", "conversation_id": conv, "from_agent_id": mina_id, "department": "x"}
    )
    bad = await mina.expect("error")
    assert bad["code"] == "invalid_field" and bad["field"] == "department"
    await mina.send({"type": "resolve", "conversation_id": conv})
    await visitor.expect("resolved")
    assert (await say(mina, conv, "late", "whisper"))["code"] == "conversation_closed"

    store = Store.from_url(live.redis_url)
    try:
        log = [e for e in await store.audit_log("demo") if e.action != "sign_in"]
    finally:
        await store.close()
    assert [e.action for e in reversed(log)] == ["monitor", "whisper", "join", "leave", "take_over"]
    assert log[0].detail == f"{ann_id} -> {mina_id}" and log[0].actor_name == "Mina"
    for c in (visitor, ann, mina):
        await c.close()


async def test_two_supervisors_take_over_while_the_agent_resolves(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    """Across two nodes, round after round: exactly one of the three steps wins, the others
    get a clear error, and the stored state is whole (the holder's set, the status)."""
    live = LiveServer(redis_server, tmp_path / "server")
    first, second = live.start_node(), live.start_node()
    try:
        ann_id = live.add_agent("ann@example.com", name="Ann", capacity=50)
        s_ids = [
            live.add_agent(f"s{i}@example.com", name=f"Sup {i}", role="supervisor", capacity=50)
            for i in (1, 2)
        ]
        ann, _ = await cl.agent(first.ws_url, live.login("ann@example.com"))
        sups = [
            (
                await cl.agent(
                    node.ws_url, live.login(f"s{i}@example.com", base=node.base_url), status="away"
                )
            )[0]
            for i, node in ((1, first), (2, second))
        ]
        wins = {"resolve": 0, "Sup 1": 0, "Sup 2": 0}
        refusals: dict[str, int] = {}
        rounds = 20
        for n in range(rounds):
            visitor, _ = await cl.visitor((first, second)[n % 2].ws_url)
            await visitor.send({"type": "message", "client_id": f"r{n}", "text": f"round {n}"})
            conv = (await visitor.expect("ack"))["conversation_id"]
            await ann.expect("assigned", lambda f, c=conv: f["conversation_id"] == c)
            await ann.expect("synced", lambda f, c=conv: f["conversation_id"] == c)
            take = {"type": "take_over", "conversation_id": conv, "from_agent_id": ann_id}
            steps = [
                sups[0].send(take),
                sups[1].send(take),
                ann.send({"type": "resolve", "conversation_id": conv}),
            ]
            random.Random(n).shuffle(steps)  # each of the three goes first in some rounds
            await asyncio.gather(*steps)

            def outcome(f: dict[str, Any], c: str = conv) -> bool:
                return (
                    f.get("conversation_id") == c and f["type"] in ("assigned", "resolved")
                ) or (f["type"] == "error" and f.get("ref") == c)

            results = {
                "resolve": await ann.expect(
                    None,
                    lambda f, c=conv: (
                        f.get("ref") == c or (f["type"] == "resolved" and f["conversation_id"] == c)
                    ),
                ),
                "Sup 1": await sups[0].expect(None, outcome),
                "Sup 2": await sups[1].expect(None, outcome),
            }
            won = [who for who, f in results.items() if f["type"] != "error"]
            lost = [f["code"] for f in results.values() if f["type"] == "error"]
            assert len(won) == 1, results
            wins[won[0]] += 1
            for code in lost:
                refusals[code] = refusals.get(code, 0) + 1
            # The loser's codes say why: the chat was resolved, moved, or no longer Ann's.
            expected = {"resolve": {"conversation_closed"}}.get(won[0], {"conflict", "forbidden"})
            assert set(lost) <= expected, (won, results)

            store = Store.from_url(live.redis_url)
            try:
                c = await store.get_conversation("demo", conv)
                holders = {
                    a: conv in await store.agent_conversation_ids("demo", a)
                    for a in (ann_id, *s_ids)
                }
                entries = await store.read_messages("demo", conv, None)
            finally:
                await store.close()
            assert c is not None
            events = [m.event for m in entries if m.kind == "system"]
            if won[0] == "resolve":
                assert c["status"] == "resolved" and not any(holders.values()), (c, holders)
                assert "taken_over" not in events
            else:
                winner = s_ids[int(won[0][-1]) - 1]
                assert c["agent"] == winner and c["status"] in ("assigned", "waiting_on_agent")
                assert holders == {a: a == winner for a in holders}, holders
                assert events.count("taken_over") == 1 and "resolved" not in events
                await sups[int(won[0][-1]) - 1].send({"type": "resolve", "conversation_id": conv})
            await visitor.close()
        report(
            f"\ntake-over race, {rounds} rounds over two nodes: wins {wins}, refusals {refusals}"
        )
        assert sum(wins.values()) == rounds
        for c in (ann, *sups):
            await c.close()
    finally:
        live.stop()
