"""The kinds of durable timer (one sorted set per site, member ``kind|subject``)."""

from __future__ import annotations

from enum import StrEnum


class TimerKind(StrEnum):
    FIRST_RESPONSE = "frt"  # first-response target (SLA)
    NEXT_RESPONSE = "nrt"  # next-response target (SLA)
    NUDGE = "nudge"  # tell a waiting visitor they are still in line
    PARK = "park"  # the visitor went quiet: the conversation waits on them
    QUEUE_TIMEOUT = "qto"  # queued too long: offer to leave a message
    ASSIGN = "assign"  # the agent did not answer: reassign
    VISITOR_GONE = "vgone"  # the visitor's last socket closed
    ABANDON = "abandon"  # the visitor has been gone too long
    GRACE = "grace"  # an agent's disconnect grace (subject: the agent id)
    BREACH_REASSIGN = "brs"  # a response target was missed and the agent is still silent
    SNOOZE = "snooze"  # an agent snoozed a chat that waits on the visitor, until then
    FOLLOW_UP = "followup"  # a queued visitor who left an e-mail still waits for a reply
    # The mail step looks at a conversation that ended, was offered the offline form, or
    # whose visitor left an e-mail (chatserver/mail/alerts.py): due at once, never dropped by
    # an ending, so a node that dies before the mail is queued leaves it for the next tick.
    MAIL = "mail"


# The timers whose subject is a conversation: an ending drops them all (lua/_lib.lua finish).
CONVERSATION_TIMERS = tuple(k for k in TimerKind if k not in (TimerKind.GRACE, TimerKind.MAIL))


def member(kind: TimerKind, subject: str) -> str:
    return f"{kind.value}|{subject}"


def parse_member(value: str) -> tuple[str, str]:
    """(kind, subject); the kind is returned as written, so an unknown one can be skipped."""
    kind, _, subject = value.partition("|")
    return kind, subject
