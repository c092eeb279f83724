from __future__ import annotations

from chatserver.core.routing import (
    AgentSnapshot,
    free_capacity,
    online_count,
    queue_score,
    rank_candidates,
    total_capacity,
)


def agent(aid: str, load: int = 0, cap: int = 3, last: int = 0, **kw: object) -> AgentSnapshot:
    fields: dict[str, object] = {"status": "online", "present": True, **kw}
    return AgentSnapshot(aid, capacity=cap, load=load, last_assigned_at=last, **fields)  # type: ignore[arg-type]


def test_lowest_load_first() -> None:
    assert rank_candidates([agent("a", 2), agent("b", 0), agent("c", 1)]) == ["b", "c", "a"]


def test_tie_goes_to_longest_since_last_assignment() -> None:
    ranked = rank_candidates(
        [agent("a", 1, last=300), agent("b", 1, last=100), agent("c", 1, last=200)]
    )
    assert ranked == ["b", "c", "a"]


def test_full_away_and_absent_agents_are_skipped() -> None:
    agents = [
        agent("full", 3, cap=3),
        agent("away", status="away"),
        agent("gone", present=False),
        agent("ok", 2),
    ]
    assert rank_candidates(agents) == ["ok"]
    assert free_capacity(agents) == 1
    assert online_count(agents) == 2  # "full" and "ok" are online and present
    assert total_capacity(agents) == 6


def test_departments() -> None:
    agents = [agent("sales", departments=frozenset({"sales"})), agent("any", 1)]
    assert rank_candidates(agents, "sales") == ["sales", "any"]
    assert rank_candidates(agents, "billing") == ["any"]
    assert rank_candidates(agents, "") == ["sales", "any"]


def test_nobody_available() -> None:
    assert rank_candidates([]) == []
    assert rank_candidates([agent("a", 3, cap=3)]) == []


def test_queue_score_orders_priority_then_arrival() -> None:
    urgent_late = queue_score(5, 2_000)
    normal_early = queue_score(0, 1_000)
    normal_late = queue_score(0, 2_000)
    assert urgent_late < normal_early < normal_late
