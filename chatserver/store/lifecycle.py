"""Durable timers, presence of visitors, and the sweeper's reads and repairs.

Timers are members ``kind|subject`` of one sorted set per site, scored by their due time.
Firing claims the member in the same script that acts, so each deadline acts once however
many nodes poll it; a member moved by a later schedule simply waits for its new deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chatserver.core.department_hours import CHANGES_FIELD
from chatserver.core.policy import SitePolicy
from chatserver.core.routing import queue_score
from chatserver.core.sla import TARGETS, risk_ms, sla_progress
from chatserver.core.states import Event
from chatserver.core.timers import parse_member
from chatserver.store.base import MAPS, StoreBase


@dataclass(frozen=True, slots=True)
class SweepView:
    """What the sweeper compares: one site's open set, queues and agents' loads."""

    open_convs: list[dict[str, str]]
    missing_open: list[str]  # ids in the open set whose conversation hash is gone
    queues: dict[str, list[str]]  # department -> queued conversation ids
    loads: dict[str, list[str]]  # agent id -> conversation ids in its load set
    agents_present: set[str]
    visitors_present: set[str]
    timers: set[str]


class LifecycleStore(StoreBase):
    # --- timers ---------------------------------------------------------------------------
    async def due_timers(self, site: str, now: int, limit: int = 200) -> list[str]:
        members: list[str] = await self.r.zrangebyscore(
            self.k.timers(site), "-inf", now, start=0, num=limit
        )
        return members

    async def schedule_timer(self, site: str, member: str, due: int, keep: bool = False) -> None:
        """Set a timer's deadline; ``keep`` leaves an existing deadline as it is."""
        await self.r.zadd(self.k.timers(site), {member: due}, nx=keep)

    async def timer_due(self, site: str, member: str) -> int | None:
        score = await self.r.zscore(self.k.timers(site), member)
        return None if score is None else int(score)

    async def fire_timer(self, site: str, member: str, now: int, policy: SitePolicy) -> str:
        """Fire one due conversation timer; returns what happened ('fired', 'gone', ...)."""
        kind, conv_id = parse_member(member)
        k = self.k
        for _ in range(3):
            agent, dept, visitor, first_msg, unanswered, changes = (
                v or ""
                for v in await self.r.hmget(
                    k.conversation(site, conv_id),
                    [
                        "agent",
                        "department",
                        "visitor",
                        "first_visitor_msg_at",
                        "unanswered_since",
                        CHANGES_FIELD,
                    ],
                )
            )
            # A response clock is judged in business time, which only Python knows: the
            # script gets the clock's start and the department's transfers as read (it
            # retries when they moved), the business time since then under the hours of
            # the department it was in, and when to look again (the risk point, else the
            # deadline) under the hours in force now.
            since = {"frt": first_msg, "nrt": unanswered}.get(kind, "")
            worked: int | str = ""
            due: int | str = ""
            if since.isdigit():
                progress = sla_progress(policy, kind, int(since), now, dept, changes)
                worked = progress.worked_ms
                due = "" if progress.wake is None else progress.wake
            res = await self.scripts.run(
                "timer",
                [
                    k.timers(site),
                    k.conversation(site, conv_id),
                    k.messages(site, conv_id),
                    k.queue(site, dept),
                    k.open_conversations(site),
                    k.visitor(site, visitor),
                    k.visitor_presence(site, visitor),
                    k.agent_conversations(site, agent),
                    k.latency(site),
                    *k.feed_keys(site),
                    k.presence(site, agent or "-"),
                    k.ended_conversations(site),
                ],
                [
                    member,
                    kind,
                    conv_id,
                    now,
                    k.channel(site),
                    agent,
                    dept,
                    visitor,
                    policy.ms("sla_first_response_s"),
                    policy.ms("sla_next_response_s"),
                    policy.ms("nudge_after_s"),
                    policy.ms("park_after_s"),
                    policy.ms("visitor_grace_s"),
                    policy.ms("abandon_after_s"),
                    policy.ms("assign_timeout_s"),
                    MAPS[Event.REQUEUE],
                    MAPS[Event.VISITOR_LEFT],
                    MAPS[Event.ABANDON],
                    policy.ms("queue_timeout_s"),
                    since,
                    worked,
                    due,
                    policy.ms("sla_breach_reassign_s"),
                    risk_ms(policy, TARGETS[kind]) if kind in TARGETS else 0,
                    policy.ms("follow_up_after_s"),
                    changes,
                    policy.ms("keep_place_s"),
                ],
            )
            if res[0] != "retry":
                return str(res[0])
        return "retry"

    async def fire_grace(self, site: str, agent_id: str, member: str, now: int) -> str:
        """Requeue a vanished agent's chats once its grace ran out (unless it is back)."""
        k = self.k
        outcome = "again"
        for _ in range(3):
            conv_ids = sorted(await self.r.smembers(k.agent_conversations(site, agent_id)))
            depts = await self._hget_many(
                [k.conversation(site, cid) for cid in conv_ids], "department"
            )
            keys = [
                k.timers(site),
                k.presence(site, agent_id),
                k.agent_conversations(site, agent_id),
                k.agent_state(site, agent_id),
            ]
            for cid, dept in zip(conv_ids, depts, strict=True):
                keys += [k.conversation(site, cid), k.messages(site, cid), k.queue(site, dept)]
            keys += [k.latency(site), *k.feed_keys(site)]
            res = await self.scripts.run(
                "grace",
                keys,
                [
                    member,
                    agent_id,
                    now,
                    k.channel(site),
                    MAPS[Event.REQUEUE],
                    len(conv_ids),
                    *conv_ids,
                ],
            )
            outcome = str(res[0])
            if outcome != "again":
                break
        return outcome

    # --- visitor presence -----------------------------------------------------------------
    async def visitors_present(
        self, site: str, visitor_ids: Sequence[str], node: str, until: int
    ) -> None:
        """Mark visitors as connected to ``node`` until ``until`` (ms); one round trip."""
        if not visitor_ids:
            return
        pipe = self.r.pipeline(transaction=False)
        for vid in visitor_ids:
            key = self.k.visitor_presence(site, vid)
            pipe.hset(key, node, until)
            pipe.pexpireat(key, until)
        await pipe.execute()

    async def visitor_gone(
        self, site: str, visitor_id: str, node: str, now: int = 0, keep_ms: int = 0
    ) -> None:
        """The visitor's last socket on ``node`` closed; with ``now``, the presence hash also
        keeps when (its field 'left', for ``keep_ms``: lua/timer.lua counts a kept place from
        it). Expiries are the other fields' values, so 'left', a time passed, is no node."""
        key = self.k.visitor_presence(site, visitor_id)
        if not now:
            await self.r.hdel(key, node)
            return
        pipe = self.r.pipeline(transaction=True)
        pipe.hdel(key, node)
        pipe.hset(key, "left", now)
        pipe.pexpireat(key, now + keep_ms)
        await pipe.execute()

    # --- sweeper --------------------------------------------------------------------------
    async def sweep_view(self, site: str, now: int, limit: int = 5000) -> SweepView:
        """Read everything one sweep compares, in a few pipelined round trips."""
        k = self.k
        open_ids: list[str] = await self.r.zrange(k.open_conversations(site), 0, limit - 1)
        convs = await self._hgetall_many([k.conversation(site, cid) for cid in open_ids])
        missing = [cid for cid, conv in zip(open_ids, convs, strict=True) if not conv]
        found = [conv for conv in convs if conv]
        depts = sorted(await self.r.smembers(k.departments(site)))
        agents = sorted(await self.r.smembers(k.agents(site)))
        visitors = sorted({c.get("visitor", "") for c in found if c.get("visitor")})
        pipe = self.r.pipeline(transaction=False)
        for dept in depts:
            pipe.zrange(k.queue(site, dept), 0, limit - 1)
        for agent_id in agents:
            pipe.smembers(k.agent_conversations(site, agent_id))
            pipe.exists(k.presence(site, agent_id))
        for vid in visitors:
            pipe.hvals(k.visitor_presence(site, vid))
        pipe.zrange(k.timers(site), 0, -1)
        res = await pipe.execute()
        queues = {dept: list(res[i]) for i, dept in enumerate(depts)}
        base = len(depts)
        loads = {a: sorted(res[base + 2 * i]) for i, a in enumerate(agents)}
        present = {a for i, a in enumerate(agents) if res[base + 2 * i + 1]}
        base += 2 * len(agents)
        vpresent = {v for i, v in enumerate(visitors) if any(int(x) > now for x in res[base + i])}
        return SweepView(found, missing, queues, loads, present, vpresent, set(res[-1]))

    async def repair(
        self, site: str, op: str, conv_id: str, target_key: str, arg: str = "", score: float = 0
    ) -> bool:
        """Apply one sweeper repair, re-checked atomically; True if it changed anything."""
        res = await self.scripts.run(
            "repair", [self.k.conversation(site, conv_id), target_key], [op, conv_id, arg, score]
        )
        return bool(res)

    @staticmethod
    def queue_score_of(conv: dict[str, str]) -> float:
        """Where a conversation found missing from its queue goes back: by creation time."""
        return queue_score(int(conv.get("priority") or 0), int(conv.get("created_at") or 0))
