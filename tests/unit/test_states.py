from __future__ import annotations

import pytest

from chatserver.core.states import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Event,
    IllegalTransition,
    Status,
    is_open,
    legal_events,
    transition,
)

S, E = Status, Event

LEGAL = {
    (S.QUEUED, E.VISITOR_MESSAGE): S.QUEUED,
    (S.QUEUED, E.ASSIGN): S.ASSIGNED,
    (S.QUEUED, E.RESOLVE): S.RESOLVED,
    (S.QUEUED, E.VISITOR_LEFT): S.MISSED,
    (S.QUEUED, E.ABANDON): S.ABANDONED,
    (S.ASSIGNED, E.VISITOR_MESSAGE): S.WAITING_ON_AGENT,
    (S.ASSIGNED, E.AGENT_MESSAGE): S.WAITING_ON_VISITOR,
    (S.ASSIGNED, E.REQUEUE): S.QUEUED,
    (S.ASSIGNED, E.RESOLVE): S.RESOLVED,
    (S.ASSIGNED, E.ABANDON): S.ABANDONED,
    (S.WAITING_ON_AGENT, E.VISITOR_MESSAGE): S.WAITING_ON_AGENT,
    (S.WAITING_ON_AGENT, E.AGENT_MESSAGE): S.WAITING_ON_VISITOR,
    (S.WAITING_ON_AGENT, E.REQUEUE): S.QUEUED,
    (S.WAITING_ON_AGENT, E.RESOLVE): S.RESOLVED,
    (S.WAITING_ON_AGENT, E.ABANDON): S.ABANDONED,
    (S.WAITING_ON_VISITOR, E.VISITOR_MESSAGE): S.WAITING_ON_AGENT,
    (S.WAITING_ON_VISITOR, E.AGENT_MESSAGE): S.WAITING_ON_VISITOR,
    (S.WAITING_ON_VISITOR, E.REQUEUE): S.QUEUED,
    (S.WAITING_ON_VISITOR, E.RESOLVE): S.RESOLVED,
    (S.WAITING_ON_VISITOR, E.ABANDON): S.ABANDONED,
    (S.RESOLVED, E.REOPEN): S.QUEUED,
    (S.MISSED, E.REOPEN): S.QUEUED,
    (S.ABANDONED, E.REOPEN): S.QUEUED,
    (S.ASSIGNED, E.VISITOR_LEFT): S.MISSED,
    (S.WAITING_ON_AGENT, E.VISITOR_LEFT): S.MISSED,
    (S.ASSIGNED, E.TRANSFER): S.ASSIGNED,
    (S.WAITING_ON_AGENT, E.TRANSFER): S.ASSIGNED,
    (S.WAITING_ON_VISITOR, E.TRANSFER): S.ASSIGNED,
    (S.RESOLVED, E.AGENT_REOPEN): S.ASSIGNED,
    (S.MISSED, E.AGENT_REOPEN): S.ASSIGNED,
    (S.ABANDONED, E.AGENT_REOPEN): S.ASSIGNED,
}


@pytest.mark.parametrize(("status", "event"), sorted(LEGAL))
def test_every_legal_transition(status: Status, event: Event) -> None:
    assert transition(status, event) is LEGAL[(status, event)]


ILLEGAL = [(s, e) for s in Status for e in Event if (s, e) not in LEGAL]


@pytest.mark.parametrize(("status", "event"), ILLEGAL)
def test_every_illegal_transition_raises(status: Status, event: Event) -> None:
    with pytest.raises(IllegalTransition) as info:
        transition(status, event)
    assert info.value.status is status and info.value.event is event


def test_open_and_closed_partition_the_states() -> None:
    assert set(Status) == OPEN_STATUSES | CLOSED_STATUSES
    assert not OPEN_STATUSES & CLOSED_STATUSES
    assert is_open(S.QUEUED) and not is_open(S.RESOLVED)


def test_no_open_state_is_a_dead_end() -> None:
    # A conversation must always have a way out of every open state.
    for status in OPEN_STATUSES:
        assert Event.RESOLVE in legal_events(status)
