"""What the agent console does beyond chatting: notes, transfers, reopening and the read-only
views it shows (a visitor's earlier conversations, the team); canned responses are in
chatserver.store.canned."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from chatserver.core.policy import DEFAULT_POLICY, SitePolicy
from chatserver.core.states import Event
from chatserver.messages import Outgoing, SendResult, Stored
from chatserver.store.base import MAPS, StoreError, receipt
from chatserver.store.conversations import ConversationStore


def _result(res: list[object]) -> str:
    """The id a script returned, or its refusal as StoreError."""
    if res[0] == "ok":
        return str(res[1])
    raise StoreError(str(res[1]), str(res[2]) if len(res) > 2 else "")


class ConsoleStore(ConversationStore):
    # --- conversation steps ---------------------------------------------------------------
    async def add_note(self, note: Outgoing) -> SendResult:
        """Store a private note (kind ``note``) once; visitors never receive it.

        Raises StoreError('not_found' | 'forbidden').
        """
        if note.kind != "note":
            raise ValueError(f"add_note stores notes, not {note.kind!r}")
        k, site, conv_id, now = self.k, note.site, note.conv_id, note.now
        res = await self.scripts.run(
            "note",
            [
                k.conversation(site, conv_id),
                k.messages(site, conv_id),
                k.client_ids(site, conv_id),
                *k.feed_keys(site),
                k.search_todo(site),
            ],
            [
                note.sender_id,
                note.sender_name,
                note.client_id,
                note.text,
                now,
                k.channel(site),
                conv_id,
            ],
        )
        return receipt(res, now)

    async def snooze(
        self, site: str, conv_id: str, agent_id: str, agent_name: str, until: int, now: int
    ) -> str:
        """Snooze a chat that waits on the visitor until ``until`` (ms), or end its snooze
        with 0; returns the id of the agent-only system message.

        Raises StoreError('not_found' | 'closed' | 'forbidden' | 'conflict' (it does not wait
        on the visitor, or is not snoozed)).
        """
        k = self.k
        when = datetime.fromtimestamp(until / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
        text = f"Snoozed until {when}" if until else "The snooze ended"
        res = await self.scripts.run(
            "snooze",
            [k.conversation(site, conv_id), k.messages(site, conv_id), k.timers(site)],
            [conv_id, agent_id, agent_name, now, k.channel(site), until, text],
        )
        return _result(res)

    async def transfer_to_agent(
        self,
        site: str,
        conv_id: str,
        holder_id: str,
        holder_name: str,
        target_id: str,
        note: str,
        now: int,
        policy: SitePolicy = DEFAULT_POLICY,
    ) -> str:
        """Hand the conversation to ``target_id`` if it can take it now; returns the id of the
        'transferred' system message.

        Raises StoreError('not_found' | 'forbidden' | 'closed' | 'agent_unavailable' |
        'capacity').
        """
        k = self.k
        res = await self.scripts.run(
            "transfer",
            [
                k.conversation(site, conv_id),
                k.messages(site, conv_id),
                k.agent_conversations(site, holder_id),
                k.agent_state(site, target_id),
                k.presence(site, target_id),
                k.agent_conversations(site, target_id),
                k.timers(site),
                *k.feed_keys(site),
            ],
            [
                conv_id,
                now,
                k.channel(site),
                holder_id,
                holder_name,
                target_id,
                MAPS[Event.TRANSFER],
                note,
                policy.ms("assign_timeout_s"),
            ],
        )
        return _result(res)

    async def transfer_to_department(
        self,
        site: str,
        conv_id: str,
        holder_id: str,
        holder_name: str,
        department: str,
        note: str,
        now: int,
    ) -> str:
        """Put the conversation back in ``department``'s queue, ahead of newer arrivals.

        Raises StoreError('not_found' | 'forbidden' | 'closed').
        """
        k = self.k
        res = await self.scripts.run(
            "transfer_department",
            [
                k.conversation(site, conv_id),
                k.messages(site, conv_id),
                k.agent_conversations(site, holder_id),
                k.queue(site, department),
                k.departments(site),
                *k.feed_keys(site),
                k.timers(site),
            ],
            [
                conv_id,
                now,
                k.channel(site),
                holder_id,
                holder_name,
                department,
                MAPS[Event.REQUEUE],
                note,
            ],
        )
        return _result(res)

    async def agent_reopen(self, site: str, conv_id: str, agent_id: str, now: int) -> str:
        """Reopen an ended conversation as ``agent_id``'s own, capacity checked.

        Raises StoreError('not_found' | 'conflict' | 'agent_unavailable' | 'capacity').
        """
        k = self.k
        visitor = await self.r.hget(k.conversation(site, conv_id), "visitor") or ""
        res = await self.scripts.run(
            "agent_reopen",
            [
                k.conversation(site, conv_id),
                k.messages(site, conv_id),
                k.open_conversations(site),
                k.visitor(site, visitor),
                k.agent_state(site, agent_id),
                k.presence(site, agent_id),
                k.agent_conversations(site, agent_id),
                *k.feed_keys(site),
            ],
            [conv_id, now, k.channel(site), agent_id, MAPS[Event.AGENT_REOPEN]],
        )
        return _result(res)

    # --- what the console shows -----------------------------------------------------------
    async def visitor_conversations(
        self, site: str, visitor_id: str, limit: int = 20
    ) -> list[dict[str, str]]:
        """The visitor's conversations on ``site``, newest first."""
        ids = await self.r.zrevrange(self.k.visitor_conversations(site, visitor_id), 0, limit - 1)
        return await self.get_conversations(site, ids)

    async def conversation_messages(
        self, site: str, conv_id: str, limit: int = 500
    ) -> list[Stored]:
        """The first ``limit`` entries of a conversation's stream, notes included (agents)."""
        return await self.read_messages(site, conv_id, None, limit)

    async def conversation_page(
        self,
        site: str,
        before: tuple[int, str] | None,
        limit: int,
        keep: Callable[[dict[str, str]], bool],
        scan: int = 2000,
    ) -> tuple[list[dict[str, str]], tuple[int, str] | None]:
        """Conversations newest first (by creation), after the position ``before``
        (created_at, id) and passing ``keep``: up to ``limit`` of them, and the position to
        go on from (None at the end). At most ``scan`` are looked at per call, so a filter
        that matches little returns fewer than ``limit`` with a position to go on from."""
        index = self.k.conversation_index(site)
        top: str | int = "+inf" if before is None else before[0]
        found: list[dict[str, str]] = []
        looked = 0
        while looked < scan:
            if before is not None:
                top = before[0]
            batch: list[tuple[str, float]] = await self.r.zrevrangebyscore(
                index, top, "-inf", start=0, num=200, withscores=True
            )
            if before is not None:
                # Ties on created_at come in descending id order: skip what was returned.
                batch = [(c, s) for c, s in batch if int(s) < before[0] or c < before[1]]
            if not batch:
                return found, None
            convs = await self.get_conversations(site, [c for c, _ in batch])
            by_id = {c.get("id", ""): c for c in convs}
            for conv_id, score in batch:
                looked += 1
                before = (int(score), conv_id)
                conv = by_id.get(conv_id)
                if conv is not None and keep(conv):
                    found.append(conv)
                    if len(found) == limit:
                        return found, before
                if looked >= scan:
                    break
        return found, before
