"""Supervisors' steps in conversations they do not hold: monitor, whisper, join, leave and
take over (chatserver/lua/supervise.lua and take_over.lua), and the site's audit log."""

from __future__ import annotations

from chatserver.core.policy import DEFAULT_POLICY, SitePolicy
from chatserver.core.states import Event
from chatserver.messages import Outgoing, SendResult
from chatserver.store.base import MAPS, StoreBase, StoreError, receipt

# Entries the audit log keeps (approximately: trimmed with MAXLEN ~).
AUDIT_LENGTH = 100_000

ACTIONS = frozenset({"monitor", "unmonitor", "join", "leave"})


def _refused(res: list[object]) -> StoreError:
    return StoreError(str(res[1]), str(res[2]) if len(res) > 2 else "")


class SupervisionStore(StoreBase):
    async def supervise(
        self, site: str, conv_id: str, action: str, actor_id: str, actor_name: str, now: int
    ) -> str:
        """Apply ``action`` (monitor, unmonitor, join, leave) for the supervisor; returns the
        id of the system message it left ('' when it left none: a repeated monitor).

        Raises StoreError('not_found' | 'closed' | 'conflict').
        """
        if action not in ACTIONS:
            raise ValueError(f"not a supervision action: {action!r}")
        res = await self._run_supervise(site, conv_id, action, actor_id, actor_name, now, "", "")
        if res[0] != "ok":
            raise _refused(res)
        return str(res[1])

    async def whisper(self, msg: Outgoing) -> SendResult:
        """Store a supervisor's whisper (kind ``whisper``) once; visitors never receive it.

        Raises StoreError('not_found' | 'closed').
        """
        if msg.kind != "whisper":
            raise ValueError(f"whisper stores whispers, not {msg.kind!r}")
        res = await self._run_supervise(
            msg.site,
            msg.conv_id,
            "whisper",
            msg.sender_id,
            msg.sender_name,
            msg.now,
            msg.client_id,
            msg.text,
        )
        return receipt(res, msg.now)

    async def _run_supervise(
        self,
        site: str,
        conv_id: str,
        action: str,
        actor_id: str,
        actor_name: str,
        now: int,
        client_id: str,
        text: str,
    ) -> list[object]:
        k = self.k
        res: list[object] = await self.scripts.run(
            "supervise",
            [
                k.conversation(site, conv_id),
                k.messages(site, conv_id),
                k.client_ids(site, conv_id),
                k.audit(site),
                k.search_todo(site),
            ],
            [
                action,
                actor_id,
                actor_name,
                now,
                k.channel(site),
                conv_id,
                client_id,
                text,
                AUDIT_LENGTH,
            ],
        )
        return res

    async def take_over(
        self,
        site: str,
        conv_id: str,
        actor_id: str,
        actor_name: str,
        holder_id: str,
        now: int,
        target_id: str = "",
        department: str = "",
        policy: SitePolicy = DEFAULT_POLICY,
    ) -> str:
        """Move the conversation from ``holder_id`` (the agent the supervisor saw holding it)
        to ``target_id`` (the supervisor themself allowed while away), or, with no target, to
        ``department``'s queue; returns the id of the system message the visitor sees.

        Raises StoreError('not_found' | 'closed' | 'conflict' (someone else holds it now) |
        'capacity' | 'agent_unavailable').
        """
        k = self.k
        target = target_id or "-"  # the target's keys are unused for the queue
        res = await self.scripts.run(
            "take_over",
            [
                k.conversation(site, conv_id),
                k.messages(site, conv_id),
                k.agent_conversations(site, holder_id),
                k.agent_state(site, target),
                k.presence(site, target),
                k.agent_conversations(site, target),
                k.timers(site),
                k.queue(site, department),
                k.departments(site),
                k.audit(site),
                *k.feed_keys(site),
            ],
            [
                conv_id,
                now,
                k.channel(site),
                actor_id,
                actor_name,
                holder_id,
                target_id,
                department,
                MAPS[Event.TRANSFER],
                MAPS[Event.REQUEUE],
                policy.ms("assign_timeout_s"),
                AUDIT_LENGTH,
            ],
        )
        if res[0] != "ok":
            raise _refused(res)
        return str(res[1])
