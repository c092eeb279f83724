"""Retention on a real Redis with an injected clock: a month of chats, and what is left."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis

from chatserver.core.retention import DAY_MS
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.messages import Outgoing
from chatserver.retention import Retention
from chatserver.store import Store
from tests.servers import report

pytestmark = pytest.mark.asyncio

SITE = "demo"
DAYS = 30
KEEP_DAYS = 7
CHATS_A_DAY = 20
MESSAGES_EACH = 10
START = 1_767_225_600_000  # 2026-01-01 00:00 UTC


@pytest.fixture
async def store(redis_server: EmbeddedRedis) -> AsyncIterator[Store]:
    store = Store.from_url(redis_server.url)
    await store.update_site(SITE, {"name": "Demo", "retention_days": str(KEEP_DAYS)})
    yield store
    await store.close()


async def chat(store: Store, visitor: str, n: int, now: int, email: str = "") -> str:
    """One visitor's chat on day ``now``: hello, ten messages both ways, resolved."""
    fields = {"id": visitor, "site": SITE, "created_at": str(now), "last_seen": str(now)}
    if email:
        fields["email"] = email
    await store.visitor_seen(SITE, visitor, fields, KEEP_DAYS * DAY_MS)
    outcome, conv_id = await store.open_conversation(SITE, visitor, now, visitor_name="V")
    assert outcome in ("ok", "reopened")
    for i in range(MESSAGES_EACH):
        # The visitor and a bot take turns (a bot may answer a queued chat; no agent needed).
        text = f"message {i} of chat {n}: " + "x" * 60
        if i % 2 == 0:
            await store.send_message(
                Outgoing(SITE, conv_id, "visitor", visitor, "V", f"{conv_id}-{i}", text, now + i)
            )
        else:
            await store.send_bot_message(
                Outgoing(SITE, conv_id, "bot", "orders", "Bot", f"{conv_id}-{i}", text, now + i)
            )
    await store.resolve(SITE, conv_id, "visitor", visitor, "V", now + 60_000)
    return conv_id


async def test_a_month_of_chats_levels_off_once_retention_applies(
    store: Store, redis_server: EmbeddedRedis
) -> None:
    retention = Retention(store, store.get_site, lambda: 0, "n_test")
    r = redis.Redis.from_url(redis_server.url, decode_responses=True)
    levels: list[tuple[int, int, int, int]] = []
    first_day_convs: list[str] = []
    returning = "v_regular"
    for day in range(DAYS):
        now = START + day * DAY_MS
        for n in range(CHATS_A_DAY):
            conv_id = await chat(store, f"v_d{day}_{n}", n, now + n * 1000)
            if day == 0:
                first_day_convs.append(conv_id)
        # One visitor comes back every day: only their old chats go, never their record.
        await chat(store, returning, 99, now + 30 * 60_000, email="Regular@Example.com")
        await retention.run_site(SITE, now + DAY_MS - 1)
        info = r.info("memory")
        convs = r.zcard(store.k.conversation_index(SITE))
        levels.append((day, r.dbsize(), convs, int(info["used_memory"])))

    for day, keys, convs, memory in [*levels[:: DAYS // 10], levels[-1]]:
        report(f"retention day {day + 1}: {keys} keys, {convs} conversations, {memory} B used")
    # Before retention bites the keys grow every day; after, they stay level.
    level = [keys for day, keys, _, _ in levels if day >= KEEP_DAYS]
    assert len(set(level)) == 1, level
    assert levels[KEEP_DAYS - 2][1] < level[0]
    kept_convs = {convs for day, _, convs, _ in levels if day >= KEEP_DAYS}
    # Ended at most KEEP_DAYS ago: the last KEEP_DAYS days' chats (the regular's one reopens).
    assert kept_convs == {KEEP_DAYS * CHATS_A_DAY + 1}, kept_convs
    memory_growth = levels[-1][3] / levels[KEEP_DAYS][3]
    report(f"retention: memory at day {DAYS} is {memory_growth:.2f}× day {KEEP_DAYS + 1}")

    # What is gone is gone everywhere: the first day's conversations, messages and visitors.
    for conv_id in first_day_convs:
        assert not r.exists(store.k.conversation(SITE, conv_id))
        assert not r.exists(store.k.messages(SITE, conv_id))
        assert not r.exists(store.k.client_ids(SITE, conv_id))
    assert not r.exists(store.k.visitor(SITE, "v_d0_0"))
    assert r.zscore(store.k.ended_conversations(SITE), first_day_convs[0]) is None
    # The regular visitor stays, found by e-mail, with the chats retention keeps.
    assert r.exists(store.k.visitor(SITE, returning))
    assert await store.find_person(SITE, email="regular@example.com") == [returning]
    progress = await store.retention_progress(SITE)
    assert int(progress["deleted"]) == (DAYS - KEEP_DAYS) * CHATS_A_DAY
    assert int(progress["visitors_deleted"]) == (DAYS - KEEP_DAYS) * CHATS_A_DAY
    r.close()


async def test_open_and_reopened_conversations_are_never_deleted(store: Store) -> None:
    retention = Retention(store, store.get_site, lambda: 0, "n_test")
    now = START
    old = await chat(store, "v_old", 1, now)
    # A conversation opened long ago and still open.
    _, still_open = await store.open_conversation(SITE, "v_open", now)
    # The old one is reopened (the visitor wrote again) a month later, then retention runs.
    later = now + 30 * DAY_MS
    outcome, reopened = await store.open_conversation(SITE, "v_old", now + 60_000 + 1000)
    assert (outcome, reopened) == ("reopened", old)
    done = await retention.run_site(SITE, later)
    assert done.conversations == 0
    assert await store.get_conversation(SITE, old) is not None
    assert await store.get_conversation(SITE, still_open) is not None
    # Once it ends again, it waits its full retention from that end.
    await store.resolve(SITE, old, "visitor", "v_old", "V", later)
    assert (await retention.run_site(SITE, later + (KEEP_DAYS - 1) * DAY_MS)).conversations == 0
    assert (await retention.run_site(SITE, later + KEEP_DAYS * DAY_MS)).conversations == 1


async def test_zero_keeps_everything_and_a_visitor_without_chats_expires(store: Store) -> None:
    await store.update_site(SITE, {"retention_days": "0"})
    retention = Retention(store, store.get_site, lambda: 0, "n_test")
    conv = await chat(store, "v_kept", 1, START)
    assert (await retention.run_site(SITE, START + 3650 * DAY_MS)).conversations == 0
    assert await store.get_conversation(SITE, conv) is not None
    # A visitor who never wrote: their record carries the site's retention as its expiry.
    await store.visitor_seen(SITE, "v_quiet", {"id": "v_quiet", "last_seen": "1"}, 7 * DAY_MS)
    ttl = await store.r.pttl(store.k.visitor(SITE, "v_quiet"))
    assert 6 * DAY_MS < ttl <= 7 * DAY_MS
    # ... until they open a conversation.
    await store.open_conversation(SITE, "v_quiet", START)
    assert await store.r.pttl(store.k.visitor(SITE, "v_quiet")) == -1


async def test_conversations_ended_before_the_index_are_backfilled(store: Store) -> None:
    retention = Retention(store, store.get_site, lambda: 0, "n_test")
    convs = [await chat(store, f"v_b{i}", i, START + i) for i in range(5)]
    # As an older version left them: ended, but not in the ended index.
    await store.r.delete(store.k.ended_conversations(SITE))
    await store.r.hset(store.k.visitor(SITE, "v_b0"), "email", "old@example.com")
    first = await retention.run_site(SITE, START + 30 * DAY_MS)
    assert first.backfilled == 5
    # Listed by the pass's backfill, and old enough to be deleted by the same pass.
    assert first.conversations == 5
    assert all([await store.get_conversation(SITE, c) is None for c in convs])
    assert (await store.retention_progress(SITE))["backfilled"] == "1"
    assert await store.find_person(SITE, email="old@example.com") == []
