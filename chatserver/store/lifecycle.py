"""Durable timers, presence of visitors, and the sweeper's reads and repairs.

Timers are members ``kind|subject`` of one sorted set per site, scored by their due time.
Firing claims the member in the same script that acts, so each deadline acts once however
many nodes poll it; a member moved by a later schedule simply waits for its new deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chatserver.core.department_hours import CHANGES_FIELD
from chatserver.core.paging import Cursor, Entry
from chatserver.core.policy import SitePolicy
from chatserver.core.routing import queue_score
from chatserver.core.sla import TARGETS, risk_ms, sla_progress
from chatserver.core.states import HANDLED_STATUSES, Event, Status
from chatserver.core.timers import TimerKind, parse_member
from chatserver.core.timers import member as timer_member
from chatserver.store.base import MAPS, StoreBase
from chatserver.store.paged import holders, zpage


@dataclass(frozen=True, slots=True)
class OpenPage:
    """One page of a site's open set and what the sweeper compares it with."""

    entries: list[Entry]  # (conversation id, score) as read: the walk's cursor comes from it
    convs: list[dict[str, str]]  # the hashes found, in order
    missing: list[str]  # ids in the open set whose conversation hash is gone
    in_queue: set[str]  # queued conversations that their department's queue holds
    in_load: set[str]  # handled conversations that their agent's load set holds
    agents_present: set[str]  # of the page's agents, those with a live heartbeat
    visitors_present: set[str]  # of the page's visitors, those with a live socket
    timers: set[str]  # of the timers asked about (grace, vgone, abandon), those set


@dataclass(frozen=True, slots=True)
class HeldPage:
    """One page of a queue or an agent's load set, with each conversation's state."""

    entries: list[Entry]  # queue: (id, score); load set: (id, 0)
    states: dict[str, tuple[str, str, str]]  # id -> (status, department, agent); '' if gone
    scan: int = 0  # a load set's SSCAN cursor after this page (0: done)


_SWEEP_FIELDS = ("status", "agent", "visitor", "department", "priority", "created_at")


async def _none() -> list[Any]:
    return []


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
    async def open_page(self, site: str, cursor: Cursor | None, page: int, now: int) -> OpenPage:
        """One page of the open set after ``cursor`` and everything the sweeper compares it
        with, in three round trips (the later ones script calls for the whole page) whatever
        the size of the site."""
        k = self.k
        entries = await zpage(self.r, k.open_conversations(site), cursor, page)
        ids = [cid for cid, _ in entries]
        rows = (
            await self.scripts.run(
                "hash_fields", [k.conversation(site, cid) for cid in ids], _SWEEP_FIELDS
            )
            if ids
            else []
        )
        convs: list[dict[str, str]] = []
        missing: list[str] = []
        for cid, values in zip(ids, rows, strict=True):
            conv = {f: v for f, v in zip(_SWEEP_FIELDS, values, strict=True) if v is not None}
            if conv:
                convs.append({**conv, "id": cid})
            else:
                missing.append(cid)
        checked = [
            c
            for c in convs
            if c.get("status") == Status.QUEUED
            or (c.get("status") in HANDLED_STATUSES and c.get("agent"))
        ]
        agents = sorted({c["agent"] for c in convs if c.get("agent")})
        visitors = sorted({c["visitor"] for c in convs if c.get("visitor")})
        asked = [timer_member(TimerKind.GRACE, a) for a in agents]
        for c in convs:
            asked += [
                timer_member(TimerKind.VISITOR_GONE, c["id"]),
                timer_member(TimerKind.ABANDON, c["id"]),
            ]
        pipe = self.r.pipeline(transaction=False)
        for agent_id in agents:
            pipe.exists(k.presence(site, agent_id))
        if asked:
            pipe.zmscore(k.timers(site), asked)
        held, vflags, res = await asyncio.gather(
            self.scripts.run("members_held", *holders(k, site, checked)) if checked else _none(),
            self.scripts.run(
                "visitors_present", [k.visitor_presence(site, v) for v in visitors], [now]
            )
            if visitors
            else _none(),
            pipe.execute() if asked else _none(),
        )
        in_queue = {
            c["id"] for c, h in zip(checked, held, strict=True) if h and c["status"] == "queued"
        }
        in_load = {
            c["id"] for c, h in zip(checked, held, strict=True) if h and c["status"] != "queued"
        }
        present = {a for a, r in zip(agents, res, strict=False) if r}
        vpresent = {v for v, flag in zip(visitors, vflags, strict=True) if flag}
        scores = res[-1] if asked else []
        timers = {m for m, score in zip(asked, scores, strict=True) if score is not None}
        return OpenPage(entries, convs, missing, in_queue, in_load, present, vpresent, timers)

    async def site_agents(self, site: str) -> list[str]:
        """The ids of the site's agents, sorted (a set of the site's people: small)."""
        return sorted(await self.r.smembers(self.k.agents(site)))

    async def _states(self, site: str, ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        pipe = self.r.pipeline(transaction=False)
        for cid in ids:
            pipe.hmget(self.k.conversation(site, cid), ["status", "department", "agent"])
        rows = await pipe.execute() if ids else []
        return {
            cid: (status or "", dept or "", agent or "")
            for cid, (status, dept, agent) in zip(ids, rows, strict=True)
        }

    async def queue_page(self, site: str, dept: str, cursor: Cursor | None, page: int) -> HeldPage:
        """One page of a department's queue after ``cursor``, with each entry's state."""
        entries = await zpage(self.r, self.k.queue(site, dept), cursor, page)
        return HeldPage(entries, await self._states(site, [cid for cid, _ in entries]))

    async def load_page(self, site: str, agent_id: str, scan: int, page: int) -> HeldPage:
        """One SSCAN step over an agent's load set (every member there throughout the walk
        is met at least once), with each conversation's state."""
        nxt, ids = await self.r.sscan(self.k.agent_conversations(site, agent_id), scan, count=page)
        ids = sorted(set(ids))
        return HeldPage([(cid, 0.0) for cid in ids], await self._states(site, ids), int(nxt))

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
