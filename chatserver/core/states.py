"""The conversation state machine.

A conversation is always in exactly one of these states; the Lua scripts store the state and
this module says which moves are legal. The store asks :func:`transition` before it writes, and
the scripts re-check the stored state atomically, so a stale caller cannot force an illegal move.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    WAITING_ON_AGENT = "waiting_on_agent"
    WAITING_ON_VISITOR = "waiting_on_visitor"
    RESOLVED = "resolved"
    MISSED = "missed"
    ABANDONED = "abandoned"


class Event(StrEnum):
    ASSIGN = "assign"
    VISITOR_MESSAGE = "visitor_message"
    AGENT_MESSAGE = "agent_message"
    REQUEUE = "requeue"  # the agent left (grace expired) or was transferred away
    RESOLVE = "resolve"
    VISITOR_LEFT = "visitor_left"  # visitor gone before any agent answered
    ABANDON = "abandon"  # visitor gone, unresolved past policy
    REOPEN = "reopen"  # visitor writes again after the conversation ended
    TRANSFER = "transfer"  # handed straight to another agent
    AGENT_REOPEN = "agent_reopen"  # an agent takes an ended conversation up again, as its own


OPEN_STATUSES = frozenset(
    {Status.QUEUED, Status.ASSIGNED, Status.WAITING_ON_AGENT, Status.WAITING_ON_VISITOR}
)
CLOSED_STATUSES = frozenset({Status.RESOLVED, Status.MISSED, Status.ABANDONED})
HANDLED_STATUSES = frozenset({Status.ASSIGNED, Status.WAITING_ON_AGENT, Status.WAITING_ON_VISITOR})


class IllegalTransition(ValueError):
    """Raised when an event does not apply to a conversation in its current state."""

    def __init__(self, status: Status, event: Event) -> None:
        super().__init__(f"{event.value} is not allowed in state {status.value}")
        self.status = status
        self.event = event


_TABLE: dict[tuple[Status, Event], Status] = {}


def _allow(sources: frozenset[Status] | set[Status], event: Event, target: Status | None) -> None:
    for source in sources:
        _TABLE[(source, event)] = source if target is None else target


# A visitor message while queued keeps the conversation queued; once handled it waits on agent.
_allow({Status.QUEUED}, Event.VISITOR_MESSAGE, None)
_allow(HANDLED_STATUSES, Event.VISITOR_MESSAGE, Status.WAITING_ON_AGENT)
_allow(HANDLED_STATUSES, Event.AGENT_MESSAGE, Status.WAITING_ON_VISITOR)
_allow({Status.QUEUED}, Event.ASSIGN, Status.ASSIGNED)
_allow(HANDLED_STATUSES, Event.REQUEUE, Status.QUEUED)
_allow(OPEN_STATUSES, Event.RESOLVE, Status.RESOLVED)
# Missed means nobody answered: the scripts also require that no agent reply was ever stored.
_allow({Status.QUEUED, Status.ASSIGNED, Status.WAITING_ON_AGENT}, Event.VISITOR_LEFT, Status.MISSED)
_allow(OPEN_STATUSES, Event.ABANDON, Status.ABANDONED)
_allow(CLOSED_STATUSES, Event.REOPEN, Status.QUEUED)
_allow(HANDLED_STATUSES, Event.TRANSFER, Status.ASSIGNED)
_allow(CLOSED_STATUSES, Event.AGENT_REOPEN, Status.ASSIGNED)


def transition(status: Status, event: Event) -> Status:
    """Return the state after ``event``; raise :class:`IllegalTransition` if it does not apply."""
    try:
        return _TABLE[(status, event)]
    except KeyError:
        raise IllegalTransition(status, event) from None


def is_open(status: Status) -> bool:
    """True while the conversation still needs someone: it must not leave the open set."""
    return status in OPEN_STATUSES


def legal_events(status: Status) -> list[Event]:
    """The events that apply in ``status``, in declaration order (for docs and UIs)."""
    return [event for event in Event if (status, event) in _TABLE]
