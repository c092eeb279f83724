"""The layer check itself catches what it is for (tests/layers.py runs in `make lint`)."""

from __future__ import annotations

from tests.layers import breaches, cycles, graph


def test_the_tree_holds() -> None:
    assert breaches(graph()) == []


def test_a_cycle_and_each_breach_are_caught() -> None:
    deps = {
        "chatserver.a": {"chatserver.b"},
        "chatserver.b": {"chatserver.a"},
        "chatserver.core.x": {"chatserver.hub"},
        "chatserver.store.y": {"chatserver.bus"},
        "console.z": {"chatserver.agent_ws"},
        "chatserver.w": {"console.routes"},
    }
    assert cycles(deps) == [["chatserver.a", "chatserver.b", "chatserver.a"]]
    found = breaches(deps)
    assert len(found) == 6
    assert any("pure core" in f for f in found) and any("domain" in f for f in found)
    assert any("socket module" in f for f in found) and any(
        "imports the console" in f for f in found
    )
