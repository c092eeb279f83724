"""Routing policy: which agent should take the next queued conversation.

The policy ranks candidates from a snapshot; the claim script then takes the first candidate
that still qualifies *at the moment of the write*, so a stale snapshot can cost a retry but
never a double assignment or an agent over capacity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    agent_id: str
    status: str  # "online" | "away" | "offline"
    capacity: int
    load: int
    last_assigned_at: int  # ms; 0 when never assigned
    present: bool  # heartbeat alive
    departments: frozenset[str] = frozenset()  # empty: serves every department

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.load)

    @property
    def available(self) -> bool:
        return self.present and self.status == "online" and self.free > 0

    def serves(self, department: str) -> bool:
        return not self.departments or not department or department in self.departments


def rank_candidates(agents: Iterable[AgentSnapshot], department: str = "") -> list[str]:
    """Agents that can take a chat of ``department`` now, best first.

    Lowest current load first; ties go to whoever has waited longest since their last
    assignment; the agent id breaks any remaining tie so the order is deterministic.
    """
    eligible = [a for a in agents if a.available and a.serves(department)]
    eligible.sort(key=lambda a: (a.load, a.last_assigned_at, a.agent_id))
    return [a.agent_id for a in eligible]


def free_capacity(agents: Iterable[AgentSnapshot]) -> int:
    """Total chats that available agents could take right now."""
    return sum(a.free for a in agents if a.available)


def total_capacity(agents: Iterable[AgentSnapshot]) -> int:
    """Chats that present, online agents can hold at once (busy or not)."""
    return sum(a.capacity for a in agents if a.present and a.status == "online")


def online_count(agents: Iterable[AgentSnapshot]) -> int:
    """Agents present and online (whether or not they have free capacity)."""
    return sum(1 for a in agents if a.present and a.status == "online")


# One priority step outweighs any arrival time below 2**43 ms (year 2248), and 99 steps plus
# such a time stay below 2**53, so the double a sorted set keeps is exact. The scripts that
# requeue compute the same score (lua/_lib.lua, given this constant by chatserver.scripts).
PRIORITY_STEP = 1 << 43
MAX_PRIORITY = 99


def queue_score(priority: int, queued_at_ms: int) -> float:
    """Sorted-set score that orders a queue by priority (higher first), then by arrival."""
    return float(
        (MAX_PRIORITY - max(0, min(MAX_PRIORITY, priority))) * PRIORITY_STEP + queued_at_ms
    )
