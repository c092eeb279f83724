"""The sweeper repairs what a crash can leave, once, however many nodes sweep at a time."""

from __future__ import annotations

import asyncio

from chatserver.core.policy import SitePolicy
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.store import Store
from chatserver.sweeper import Sweeper, SweepReport

NOW = 1_800_000_000_000


async def _policy(site: str) -> SitePolicy:
    return SitePolicy()


async def test_two_sweepers_repair_every_fault_once(redis_server: EmbeddedRedis) -> None:
    store = Store.from_url(redis_server.url)
    k = store.k
    try:
        await store.ensure_site("demo")
        convs = []
        for i in range(3):
            _, conv_id = await store.open_conversation("demo", f"v_{i}", NOW + i)
            convs.append(conv_id)
        a, b, c = convs
        await store.set_agent_status("demo", "a_sara", "Sara", 3, "online", 30)
        assert await store.claim("demo", b, ["a_sara"], NOW + 10) == "a_sara"
        assert await store.claim("demo", c, ["a_sara"], NOW + 11) == "a_sara"
        await store.resolve("demo", c, "agent", "a_sara", "Sara", NOW + 12)

        # What a node killed half-way, or a Redis that lost its last writes, can leave:
        await store.r.zrem(k.queue("demo", ""), a)  # a queued chat nobody can see
        await store.r.zadd(k.queue("demo", ""), {"c_ghost": 1})  # a queue entry of nothing
        await store.r.sadd(k.agent_conversations("demo", "a_sara"), "c_ghost2")  # false load
        await store.r.srem(k.agent_conversations("demo", "a_sara"), b)  # load missing a chat
        await store.r.zadd(k.open_conversations("demo"), {"c_ghost3": 1, c: 1})  # stale open
        await store.r.delete(k.presence("demo", "a_sara"))  # the agent's node died

        sweepers = [Sweeper(store, _policy, lambda: NOW + 100) for _ in range(2)]
        reports = await asyncio.gather(*(s.sweep() for s in sweepers))
        total = SweepReport()
        for report in reports:
            for what, n in report.repairs.items():
                total.repairs[what] = total.repairs.get(what, 0) + n
        assert total.repairs == {"enqueue": 1, "dequeue": 1, "disown": 1, "own": 1, "drop_open": 2}

        assert await store.r.zscore(k.queue("demo", ""), a) is not None
        assert await store.r.zscore(k.queue("demo", ""), "c_ghost") is None
        assert await store.r.smembers(k.agent_conversations("demo", "a_sara")) == {b}
        assert set(await store.r.zrange(k.open_conversations("demo"), 0, -1)) == {a, b}
        # The chats whose agent or visitor is gone got the timers that will move them on.
        timers = set(await store.r.zrange(k.timers("demo"), 0, -1))
        assert {"grace|a_sara", f"vgone|{a}", f"vgone|{b}"} <= timers

        # A third sweep finds nothing left to do.
        again = await sweepers[0].sweep()
        assert again.repairs == {}
    finally:
        await store.close()
