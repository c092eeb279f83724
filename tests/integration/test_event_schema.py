"""Every script that publishes runs on a real Redis, and what it published decodes strictly.

A raw subscriber on the site's channel reads each step's events up to a marker the test
publishes after the step, so a step is known to have published exactly what is listed.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from chatserver import events
from chatserver.core.notices import Notice
from chatserver.core.policy import SitePolicy
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.events import EventKind as K
from chatserver.feed import FeedEvent, payload
from chatserver.messages import Outgoing
from chatserver.store import Store

T0 = 1_700_000_000_000
POLICY = SitePolicy()
LUA = Path(events.__file__).parent / "lua"


class Channel:
    def __init__(self, store: Store, pubsub: Any) -> None:
        self.store, self.pubsub, self.marks = store, pubsub, 0

    async def step(self) -> list[events.Event]:
        """The events published since the last step, each decoded strictly."""
        self.marks += 1
        mark = events.Queue(department=f"mark-{self.marks}")
        await self.store.publish("demo", mark)
        got: list[events.Event] = []
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            assert asyncio.get_running_loop().time() < deadline, f"no marker {self.marks}"
            msg = await self.pubsub.get_message(timeout=1.0)
            if msg is None or msg["type"] != "message":
                continue  # a subscription's confirmation, or nothing yet
            ev = events.decode(msg["data"])
            if ev == mark:
                return got
            got.append(ev)


@pytest.fixture
async def channel(redis_server: EmbeddedRedis) -> AsyncIterator[Channel]:
    store = Store.from_url(redis_server.url)
    client = aioredis.Redis.from_url(redis_server.url)
    pubsub = client.pubsub()
    await pubsub.subscribe(store.k.channel("demo"))
    await store.ensure_site("demo")
    await store.update_site("demo", {"feed": "1"})  # as when the site has a webhook
    try:
        yield Channel(store, pubsub)
    finally:
        await pubsub.aclose()
        await client.aclose()
        await store.close()


def kinds(evs: list[events.Event]) -> list[K]:
    return [e.KIND for e in evs]


async def online(store: Store, agent_id: str, name: str, now: int) -> None:
    await store.set_agent_status("demo", agent_id, name, 3, "online", 60, now=now)


def publishing_scripts() -> set[str]:
    return {
        p.stem
        for p in LUA.glob("*.lua")
        if p.stem != "_lib"
        and re.search(
            r"'PUBLISH'|system_message\(|append_entry\(|requeue\(|finish\(", p.read_text("utf-8")
        )
    }


async def test_each_script_publishes_typed_records(channel: Channel) -> None:
    store, step = channel.store, channel.step
    COVERED: set[str] = set()  # the scripts this test ran, checked against the Lua files
    ann = await store.create_agent("ann@example.com", "Ann", "x", site="demo")
    ben = await store.create_agent("ben@example.com", "Ben", "x", site="demo")

    await online(store, ann, "Ann", T0)
    await online(store, ben, "Ben", T0)
    evs = await step()
    assert evs == [events.AgentStatus(ann, "online"), events.AgentStatus(ben, "online")]
    COVERED.add("agent_status")

    outcome, conv = await store.open_conversation("demo", "v1", T0, department="sales")
    assert outcome == "ok"
    assert await step() == [events.Opened(conv, "v1", "sales")]
    COVERED.add("open")

    sent = await store.send_message(
        Outgoing("demo", conv, "visitor", "v1", "Vera", "c1", "سلام", T0 + 1)
    )
    (msg,) = await step()
    assert msg == events.Message(
        conv, sent.id, "0-0", "visitor", "v1", "Vera", "c1", "سلام", T0 + 1, ""
    )
    COVERED.add("send")

    # At 80 % of the first-response target: an escalation (and the timer waits on).
    assert await store.fire_timer("demo", f"frt|{conv}", T0 + 1 + 48_000, POLICY) == "later"
    assert await step() == [events.AtRisk(conv, "first", "")]
    # The first-response target passes unanswered: a system entry and the breach.
    assert await store.fire_timer("demo", f"frt|{conv}", T0 + 100_000, POLICY) == "fired"
    evs = await step()
    assert kinds(evs) == [K.MESSAGE, K.BREACH]
    assert isinstance(evs[0], events.Message) and evs[0].event == "sla_breach"
    assert evs[0].prev == sent.id
    assert evs[1] == events.Breach(conv, "first", "")
    COVERED.add("timer")

    assert await store.claim("demo", conv, [ann], T0 + 100_001) == ann
    evs = await step()
    assert kinds(evs) == [K.MESSAGE, K.ASSIGNED, K.QUEUE]
    assert evs[1] == events.Assigned(conv, ann, "Ann", "v1")
    assert evs[2] == events.Queue("sales")
    COVERED.add("claim")

    await store.send_message(Outgoing("demo", conv, "agent", ann, "Ann", "c2", "Hi", T0 + 100_002))
    await store.send_message(
        Outgoing("demo", conv, "visitor", "v1", "Vera", "c3", "?", T0 + 100_003)
    )
    assert kinds(await step()) == [K.MESSAGE, K.MESSAGE]
    assert await store.fire_timer("demo", f"nrt|{conv}", T0 + 1_000_000, POLICY) == "fired"
    evs = await step()
    assert kinds(evs) == [K.MESSAGE, K.BREACH] and evs[1] == events.Breach(conv, "next", ann)

    await store.add_note(Outgoing("demo", conv, "note", ann, "Ann", "n1", "VIP", T0 + 1_000_001))
    (note,) = await step()
    assert isinstance(note, events.Message) and note.kind == "note" and note.text == "VIP"
    COVERED.add("note")

    await store.transfer_to_agent("demo", conv, ann, "Ann", ben, "over to you", T0 + 1_000_002)
    evs = await step()
    assert kinds(evs) == [K.MESSAGE, K.MESSAGE, K.UNASSIGNED, K.ASSIGNED], evs
    assert evs[2] == events.Unassigned(conv, ann, "transferred")
    assert evs[3] == events.Assigned(conv, ben, "Ben", "v1")
    COVERED.add("transfer")

    await store.transfer_to_department("demo", conv, ben, "Ben", "billing", "", T0 + 1_000_003)
    evs = await step()
    assert K.UNASSIGNED in kinds(evs) and events.Queue("billing") in evs, evs
    COVERED.add("transfer_department")

    # Ben takes it again, leaves, and his grace runs out: requeued, and he is offline.
    assert await store.claim("demo", conv, [ben], T0 + 1_000_004) == ben
    await step()
    await store.agent_left("demo", ben, T0 + 1_000_005, grace_ms=1)
    assert await step() == [events.AgentStatus(ben, "offline")]
    COVERED.add("agent_left")
    assert await store.fire_grace("demo", ben, f"grace|{ben}", T0 + 2_000_000) == "requeued"
    evs = await step()
    assert events.Unassigned(conv, ben, "requeued") in evs, evs
    assert events.Queue("billing") in evs
    COVERED.add("grace")

    assert await store.resolve("demo", conv, "visitor", "v1", "Vera", T0 + 2_000_001)
    evs = await step()
    assert kinds(evs) == [K.MESSAGE, K.ENDED, K.QUEUE], evs
    ended = evs[1]
    assert ended == events.Ended(
        conv, "visitor", "v1", "", ended.assigned_at, T0 + 2_000_001, "resolved"
    )
    COVERED.add("resolve")

    await store.rate("demo", conv, "v1", "Vera", 5, "ممنون", T0 + 2_000_002)
    (rated,) = await step()
    assert isinstance(rated, events.Message) and rated.event == "rated"
    COVERED.add("rate")

    await online(store, ann, "Ann", T0 + 2_000_003)
    await step()
    await store.agent_reopen("demo", conv, ann, T0 + 2_000_004)
    evs = await step()
    assert kinds(evs) == [K.MESSAGE, K.OPENED, K.ASSIGNED], evs
    assert evs[1] == events.Opened(conv, "v1", "billing")
    assert evs[2] == events.Assigned(conv, ann, "Ann", "v1")
    COVERED.add("agent_reopen")

    # Ended with the agent holding it, then the visitor writes again: the same one reopens.
    await store.resolve("demo", conv, "agent", ann, "Ann", T0 + 2_000_005)
    evs = await step()
    ended = next(e for e in evs if isinstance(e, events.Ended))
    assert ended.agent == ann and ended.assigned_at == T0 + 2_000_004
    outcome, again = await store.open_conversation("demo", "v1", T0 + 2_000_006)
    assert (outcome, again) == ("reopened", conv)
    assert events.Opened(conv, "v1", "billing") in await step()

    # A visitor who left before anyone answered: missed (finish, from the timer script).
    _, lost = await store.open_conversation("demo", "v2", T0 + 3_000_000)
    await store.send_message(
        Outgoing("demo", lost, "visitor", "v2", "", "c9", "hello", T0 + 3_000_001)
    )
    await step()
    await store.schedule_timer("demo", f"vgone|{lost}", T0 + 3_000_002)
    # First its place is kept (a system message), then, the kept time over, it is missed.
    assert await store.fire_timer("demo", f"vgone|{lost}", T0 + 3_000_003, POLICY) == "later"
    evs = await step()
    assert any(isinstance(e, events.Message) and e.event == "place_kept" for e in evs), evs
    kept_to = T0 + 3_000_003 - POLICY.ms("visitor_grace_s") + POLICY.ms("keep_place_s")
    assert await store.fire_timer("demo", f"vgone|{lost}", kept_to, POLICY) == "fired"
    evs = await step()
    assert any(isinstance(e, events.Ended) and e.status == "missed" for e in evs), evs

    # One that was answered, whose visitor left for good: abandoned.
    _, gone = await store.open_conversation("demo", "v3", T0 + 3_000_010)
    await store.send_message(
        Outgoing("demo", gone, "visitor", "v3", "", "g1", "hi", T0 + 3_000_011)
    )
    assert await store.claim("demo", gone, [ann], T0 + 3_000_012, manual=True) == ann
    await store.send_message(
        Outgoing("demo", gone, "agent", ann, "Ann", "g2", "yes?", T0 + 3_000_013)
    )
    await store.schedule_timer("demo", f"abandon|{gone}", T0 + 3_000_014)
    assert await store.fire_timer("demo", f"abandon|{gone}", T0 + 3_000_015, POLICY) == "fired"
    evs = await step()
    assert any(isinstance(e, events.Ended) and e.status == "abandoned" for e in evs), evs

    # A named bot, then a supervisor's steps in one of Ann's chats (Ben supervises).
    _, watched = await store.open_conversation("demo", "v4", T0 + 3_000_020)
    await store.send_message(
        Outgoing("demo", watched, "visitor", "v4", "", "w1", "hi", T0 + 3_000_021)
    )
    assert await store.claim("demo", watched, [ann], T0 + 3_000_022, manual=True) == ann
    await step()
    await store.send_bot_message(
        Outgoing("demo", watched, "bot", "orders", "Orders", "b1", "shipped", T0 + 3_000_023)
    )
    (bot,) = await step()
    assert isinstance(bot, events.Message) and (bot.kind, bot.sender) == ("bot", "orders")
    COVERED.add("bot")
    for action in ("monitor", "join", "leave"):
        await store.supervise("demo", watched, action, ben, "Ben", T0 + 3_000_024)
    evs = await step()
    assert [e.event for e in evs if isinstance(e, events.Message)] == [
        "monitor_started",
        "joined",
        "left",
    ], evs
    await store.whisper(
        Outgoing("demo", watched, "whisper", ben, "Ben", "s1", "offer it", T0 + 3_000_025)
    )
    (whisper,) = await step()
    assert isinstance(whisper, events.Message) and whisper.kind == "whisper"
    COVERED.add("supervise")
    await online(store, ben, "Ben", T0 + 3_000_026)
    await step()
    await store.take_over("demo", watched, ben, "Ben", ann, T0 + 3_000_027, target_id=ben)
    evs = await step()
    assert kinds(evs) == [K.MESSAGE, K.MESSAGE, K.UNASSIGNED, K.ASSIGNED], evs
    assert evs[2] == events.Unassigned(watched, ann, "taken_over")
    assert evs[3] == events.Assigned(watched, ben, "Ben", "v4")
    COVERED.add("take_over")
    await store.send_message(
        Outgoing("demo", watched, "agent", ben, "Ben", "s2", "ok", T0 + 3_000_028)
    )
    await step()
    await store.snooze("demo", watched, ben, "Ben", T0 + 4_000_000, T0 + 3_000_029)
    (snoozed,) = await step()
    assert isinstance(snoozed, events.Message) and snoozed.event == "snoozed"
    COVERED.add("snooze")
    label = await store.save_label("demo", "", "VIP", "purple")
    await store.change_labels("demo", watched, "add", [label])
    assert await step() == [events.LabelsChanged(watched, label)]
    COVERED.add("label_set")
    # The site's notice: posted and taken down, each a typed record with what visitors get.
    # (expiring an hour from the real now: the key's PEXPIREAT is Redis's clock, not T0)
    until = int(time.time() * 1000) + 3_600_000
    notice = Notice("n_1", {"fa": "پرداخت‌ها با تأخیر است"}, T0, until, "Ann")
    await store.post_notice("demo", notice)
    assert await step() == [events.NoticeChanged(orjson.dumps(notice.public()).decode())]
    COVERED.add("notice_set")
    assert await store.end_notice("demo")
    assert await step() == [events.NoticeChanged("")]
    COVERED.add("notice_end")
    # A conversation's mail that fails for good tells its agents, in the same step.
    mail = {"to": "v4@example.com", "subject": "Your chat", "conv": watched}
    await store.enqueue_mail("demo", "m_t1", mail, T0 + 3_000_030, watched)
    assert await store.claim_mail("demo", "m_t1", T0 + 3_000_031, 60_000, "n_t") is not None
    line = "The e-mail to v4@example.com could not be sent: 550 no such user"
    assert await store.ack_mail(
        "demo", "m_t1", "n_t", "failed", T0 + 3_000_032, "", "550", watched, line
    )
    (failed,) = await step()
    assert isinstance(failed, events.Message) and failed.event == "mail_failed"
    assert failed.text == line
    COVERED.add("mail_ack")

    await store.disconnect_agent("demo", ann, T0 + 3_000_004)
    evs = await step()
    assert events.Deactivated(ann) in evs and events.AgentStatus(ann, "offline") in evs, evs
    COVERED.add("agent_deactivate")

    # The typing limit publishes the payload Python encoded, in the same script.
    typing = events.Typing(conv, "visitor", True, "I ordered…")
    key = store.k.sender_limit("demo", "typing", "v1")
    await store.take_lease(
        [(key, 10, 60_000)], "t1", T0, publish=(store.k.channel("demo"), events.encode(typing))
    )
    assert await step() == [typing]
    COVERED.add("limit")

    assert publishing_scripts() == COVERED, publishing_scripts() ^ COVERED

    # The same steps wrote the site's feed: every public type but one, which comes next.
    await store.update_visitor("demo", "v1", {"name": "Sara"}, T0 + 4_000_000)
    feed = await store.feed_after("demo", "0-0", 10_000)
    types = [f["t"] for _, f in feed]
    assert set(types) == {e.value for e in FeedEvent}, {e.value for e in FeedEvent} - set(types)
    for entry_id, fields in feed:
        body = payload("demo", entry_id, fields)
        assert body["version"] == 1 and isinstance(body["data"], dict) and body["data"], body
    assert payload("demo", *feed[-1])["data"] == {"visitor_id": "v1", "name": "Sara"}
