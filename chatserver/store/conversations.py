"""Conversations, their messages and the queues."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from chatserver.core.policy import DEFAULT_POLICY, SitePolicy
from chatserver.core.routing import queue_score
from chatserver.core.sla import alarm_delay_ms
from chatserver.core.states import Event
from chatserver.messages import Outgoing, SendResult, Stored
from chatserver.scripts import Arg
from chatserver.store.base import (
    MAPS,
    StoreBase,
    StoreError,
    _stored,
    new_id,
    receipt,
)


def file_preview(meta: str) -> str:
    """The queue's preview of a message that is only a file: its name."""
    return f"File: {orjson.loads(meta).get('name', '')}"[:140] if meta else ""


class ConversationStore(StoreBase):
    # --- conversations --------------------------------------------------------------------
    async def open_conversation(
        self,
        site: str,
        visitor_id: str,
        now: int,
        department: str = "",
        priority: int = 0,
        visitor_name: str = "",
        policy: SitePolicy = DEFAULT_POLICY,
    ) -> tuple[str, str]:
        """Open and queue a conversation; returns (outcome, conversation id).

        The outcome is "ok" (created), "reopened" (the visitor's last conversation had ended
        within the policy's reopen window: it is queued again, same id) or "exists" (the
        visitor already has an open one, e.g. opened by another tab: nothing changes).
        """
        conv_id = new_id("c")
        k = self.k
        for _ in range(3):
            last = await self.r.hget(k.visitor(site, visitor_id), "last_conv") or ""
            last_dept = (
                await self.r.hget(k.conversation(site, last), "department") or "" if last else ""
            )
            res = await self.scripts.run(
                "open",
                [
                    k.visitor(site, visitor_id),
                    k.conversation(site, conv_id),
                    k.queue(site, department),
                    k.open_conversations(site),
                    k.departments(site),
                    k.visitor_conversations(site, visitor_id),
                    k.timers(site),
                    k.conversation(site, last or conv_id),
                    k.messages(site, last or conv_id),
                    k.queue(site, last_dept),
                    k.latency(site),
                    k.conversation_index(site),
                    *k.feed_keys(site),
                ],
                [
                    conv_id,
                    visitor_id,
                    site,
                    department,
                    now,
                    queue_score(priority, now),
                    k.channel(site),
                    priority,
                    visitor_name,
                    policy.ms("queue_timeout_s"),
                    last,
                    last_dept,
                    policy.ms("reopen_window_s"),
                    MAPS[Event.REOPEN],
                ],
            )
            if res[0] != "retry":
                return str(res[0]), str(res[1])
        raise StoreError("conflict", "the visitor's conversations kept changing")

    def send_call(
        self, msg: Outgoing, policy: SitePolicy = DEFAULT_POLICY
    ) -> tuple[list[str], list[Arg]]:
        """The keys and arguments of the `send` script (also what bench.ceiling runs)."""
        event = Event.VISITOR_MESSAGE if msg.kind == "visitor" else Event.AGENT_MESSAGE
        k, site, conv_id = self.k, msg.site, msg.conv_id
        first, nxt = policy.ms("sla_first_response_s"), policy.ms("sla_next_response_s")
        if msg.kind == "visitor":
            # Only a visitor's message starts a response clock: its targets are business
            # time, so the script gets the wall-clock delay to their deadlines.
            # The timers fire first at the risk point (an escalation), then at the deadline.
            # The chat's department is not read here: the delay is the earliest of the
            # site's clocks, and the timer, judged under the chat's own, waits on.
            first = alarm_delay_ms(policy, "sla_first_response_s", msg.now)
            nxt = alarm_delay_ms(policy, "sla_next_response_s", msg.now)
        keys = [
            k.conversation(site, conv_id),
            k.messages(site, conv_id),
            k.client_ids(site, conv_id),
            k.timers(site),
            k.latency(site),
            k.message_counts(site),
            *k.feed_keys(site),
            k.search_todo(site),
        ]
        args: list[Arg] = [
            msg.kind,
            msg.sender_id,
            msg.sender_name,
            msg.client_id,
            msg.text,
            msg.now,
            k.channel(site),
            conv_id,
            MAPS[event],
            msg.text[:140] or file_preview(msg.file_meta),
            first,
            nxt,
            policy.ms("nudge_after_s"),
        ]
        return keys, args

    async def send_message(
        self,
        msg: Outgoing,
        policy: SitePolicy = DEFAULT_POLICY,
        rate_limit: tuple[int, int] | None = None,
    ) -> SendResult:
        """Store a message once (idempotent on client_id) and publish it.

        ``rate_limit`` (messages, window ms) refuses a sender already at that many messages
        in the window, in the same step (StoreError 'rate_limited', detail: ms to wait).
        Raises StoreError('not_found' | 'forbidden' | 'closed' | 'rate_limited').
        """
        keys, args = self.send_call(msg, policy)
        if rate_limit is not None:
            keys.append(self.k.sender_limit(msg.site, "msgs", msg.sender_id))
            args += rate_limit
        if msg.file_id:  # the file's record is claimed in the same step (lua/send.lua)
            args += [] if rate_limit is not None else ["", ""]
            args += [msg.file_id, msg.file_meta]
            k, site = self.k, msg.site
            keys += [k.file(site, msg.file_id), k.conversation_files(site, msg.conv_id)]
            keys.append(k.pending_files(site))
        res = await self.scripts.run("send", keys, args)
        if res[0] == "ok":  # with the response time it closed, if it answered the visitor
            return SendResult(str(res[1]), msg.now, False, int(res[3]) if res[3] else None)
        return receipt(res, msg.now)

    async def send_bot_message(self, msg: Outgoing) -> SendResult:
        """Store a named bot's message (kind ``bot``) once (idempotent on client_id).

        It reaches visitors and agents like an agent's message but moves neither the status
        nor the response clocks. Raises StoreError('not_found' | 'closed').
        """
        if msg.kind != "bot":
            raise ValueError(f"send_bot_message stores bot messages, not {msg.kind!r}")
        k, site, conv_id = self.k, msg.site, msg.conv_id
        res = await self.scripts.run(
            "bot",
            [
                k.conversation(site, conv_id),
                k.messages(site, conv_id),
                k.client_ids(site, conv_id),
                k.message_counts(site),
                *k.feed_keys(site),
                k.search_todo(site),
            ],
            [
                msg.sender_id,
                msg.sender_name,
                msg.client_id,
                msg.text,
                msg.now,
                k.channel(site),
                conv_id,
            ],
        )
        return receipt(res, msg.now)

    async def read_messages(
        self, site: str, conv_id: str, after: str | None, count: int = 1000
    ) -> list[Stored]:
        """Messages strictly after ``after`` (all with None), oldest first, up to ``count``."""
        start = f"({after}" if after and after != "0-0" else "-"
        entries = await self.r.xrange(
            self.k.messages(site, conv_id), min=start, max="+", count=count
        )
        return [_stored(entry_id, fields) for entry_id, fields in entries]

    async def get_conversation(self, site: str, conv_id: str) -> dict[str, str] | None:
        data: dict[str, str] = await self.r.hgetall(self.k.conversation(site, conv_id))
        return data or None

    async def get_conversations(self, site: str, conv_ids: Sequence[str]) -> list[dict[str, str]]:
        """The conversations that exist among ``conv_ids``, in order."""
        keys = [self.k.conversation(site, cid) for cid in conv_ids]
        return [conv for conv in await self._hgetall_many(keys) if conv]

    async def claim(
        self,
        site: str,
        conv_id: str,
        candidates: Sequence[str],
        now: int,
        manual: bool = False,
        department: str | None = None,
        policy: SitePolicy = DEFAULT_POLICY,
    ) -> str:
        """Assign to the first candidate that qualifies at this instant; returns its id.

        Pass ``department`` when known (the router read it with the queue) to save a round
        trip. Raises StoreError('not_found' | 'conflict' | 'capacity' | 'none').
        """
        k = self.k
        if department is None:
            department = await self.r.hget(k.conversation(site, conv_id), "department") or ""
        keys = [k.conversation(site, conv_id), k.queue(site, department), k.messages(site, conv_id)]
        for agent_id in candidates:
            keys += [
                k.agent_state(site, agent_id),
                k.presence(site, agent_id),
                k.agent_conversations(site, agent_id),
            ]
        keys += [k.timers(site), k.latency(site), *k.feed_keys(site)]
        res = await self.scripts.run(
            "claim",
            keys,
            [
                conv_id,
                now,
                k.channel(site),
                "1" if manual else "0",
                MAPS[Event.ASSIGN],
                policy.ms("assign_timeout_s"),
                len(candidates),
                *candidates,
            ],
        )
        if res[0] == "ok":
            return str(res[1])
        raise StoreError(str(res[1]), str(res[2]) if len(res) > 2 else "")

    async def resolve(
        self, site: str, conv_id: str, kind: str, by_id: str, by_name: str, now: int
    ) -> str:
        """Resolve; returns the id of the 'resolved' system message.

        Raises StoreError('not_found' | 'forbidden' | 'closed').
        """
        k = self.k
        for _ in range(3):
            conv = await self.r.hmget(
                k.conversation(site, conv_id), ["agent", "visitor", "department"]
            )
            agent, visitor, dept = (v or "" for v in conv)
            res = await self.scripts.run(
                "resolve",
                [
                    k.conversation(site, conv_id),
                    k.messages(site, conv_id),
                    k.queue(site, dept),
                    k.open_conversations(site),
                    k.visitor(site, visitor),
                    k.agent_conversations(site, agent),
                    k.timers(site),
                    k.latency(site),
                    *k.feed_keys(site),
                    k.ended_conversations(site),
                ],
                [conv_id, now, k.channel(site), kind, by_id, by_name, MAPS[Event.RESOLVE], agent],
            )
            if res[0] == "ok":
                return str(res[1])
            if res[0] != "retry":
                raise StoreError(str(res[1]), str(res[2]) if len(res) > 2 else "")
        raise StoreError("conflict", "the conversation kept changing hands")

    async def departments(self, site: str) -> list[str]:
        return sorted(await self.r.smembers(self.k.departments(site)))

    async def queue_entries(self, site: str, limit: int = 200) -> list[tuple[str, str, float]]:
        """(conversation id, department, score) of queued conversations, best first."""
        depts = await self.departments(site)
        if not depts:
            return []
        pipe = self.r.pipeline(transaction=False)
        for dept in depts:
            pipe.zrange(self.k.queue(site, dept), 0, limit - 1, withscores=True)
        results = await pipe.execute()
        merged = [
            (cid, dept, float(score))
            for dept, entries in zip(depts, results, strict=True)
            for cid, score in entries
        ]
        merged.sort(key=lambda e: e[2])
        return merged[:limit]

    async def queue_ranks(self, site: str, items: Sequence[tuple[str, str]]) -> list[int | None]:
        """0-based rank of each (conversation id, department) in its queue; None if absent."""
        if not items:
            return []
        pipe = self.r.pipeline(transaction=False)
        for cid, dept in items:
            pipe.zrank(self.k.queue(site, dept), cid)
        ranks: list[int | None] = await pipe.execute()
        return ranks
