"""A site's lifecycle policy: how long each durable timer waits, with sensible defaults.

Plain data read from the site's settings hash (field name = attribute name, value in whole
seconds, 0 turns a timer off). The admin pages edit these fields; the timers read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class SitePolicy:
    # An agent whose last socket closed keeps their chats this long, then they are requeued.
    agent_grace_s: int = 60
    # An assigned agent who has not answered the waiting visitor by then loses the chat.
    assign_timeout_s: int = 120
    # Service-level targets: first agent reply after the visitor's first message, and every
    # later reply after the visitor's first unanswered message.
    sla_first_response_s: int = 60
    sla_next_response_s: int = 120
    # A missed target whose agent stays silent this much longer sends the chat back to the
    # queue, for someone else (0: never; the chat stays with its agent).
    sla_breach_reassign_s: int = 0
    # A visitor silent this long after an agent's reply gets a nudge; silent again as long
    # after the nudge, the chat is parked as waiting on the visitor.
    nudge_after_s: int = 300
    park_after_s: int = 300
    # Queued this long without an agent: the visitor is offered to leave an email (the
    # conversation stays queued).
    queue_timeout_s: int = 300
    # A visitor offered the offline form who left an e-mail waits for a reply by mail: the
    # supervisors are reminded after this long, and again each time as long (0: never).
    follow_up_after_s: int = 14400
    # A visitor whose last socket closed: a chat nobody answered yet becomes missed after
    # visitor_grace_s; an answered one becomes abandoned after abandon_after_s.
    visitor_grace_s: int = 120
    abandon_after_s: int = 1800
    # Keep my place: a queued chat whose visitor left stays queued this long after they left
    # (or after an agent took it meanwhile: they are told by e-mail), then the rule above
    # applies (0: the rule above at once).
    keep_place_s: int = 600
    # A visitor writing within this long after the end reopens the same conversation.
    reopen_window_s: int = 86400

    @classmethod
    def from_settings(cls, settings: Mapping[str, str] | None) -> SitePolicy:
        """Read the policy from a site's settings; missing or malformed fields keep defaults."""
        values: dict[str, int] = {}
        for f in fields(cls):
            raw = (settings or {}).get(f.name)
            if raw is None or raw == "":
                continue
            try:
                value = int(raw)
            except ValueError:
                continue
            if value >= 0:
                values[f.name] = value
        return cls(**values)

    def ms(self, name: str) -> int:
        """A delay in milliseconds, as the scripts take it (0: off)."""
        return int(getattr(self, name)) * 1000

    @staticmethod
    def labels() -> dict[str, str]:
        """Human labels for the admin page, in display order."""
        return dict(_LABELS)


DEFAULT_POLICY = SitePolicy()

# A site setting apart from the timers above ('1' or not): admins and supervisors of the site
# must sign in with a second factor; one without it is sent to set it up before anything else
# works (chatserver.sessions).
REQUIRE_TWO_FACTOR = "require_two_factor"
TWO_FACTOR_ROLES = frozenset({"admin", "supervisor"})


def two_factor_required(settings: Mapping[str, str] | None, role: str) -> bool:
    """Whether an agent of ``role`` on a site with ``settings`` must use two-factor sign-in."""
    return role in TWO_FACTOR_ROLES and (settings or {}).get(REQUIRE_TWO_FACTOR) == "1"


_LABELS = (
    ("sla_first_response_s", "First response target"),
    ("sla_next_response_s", "Next response target"),
    ("sla_breach_reassign_s", "Reassign a chat whose target was missed after a further"),
    ("agent_grace_s", "Agent disconnect grace"),
    ("assign_timeout_s", "Reassign if the agent has not answered within"),
    ("queue_timeout_s", "Offer the offline form after queuing for"),
    ("follow_up_after_s", "Remind supervisors of a visitor waiting for an e-mail reply every"),
    ("nudge_after_s", "Nudge a silent visitor after"),
    ("park_after_s", "Park the chat after a further"),
    ("visitor_grace_s", "Visitor gone: missed after"),
    ("keep_place_s", "Visitor gone from the queue: keep their place for"),
    ("abandon_after_s", "Visitor gone: abandoned after"),
    ("reopen_window_s", "A visitor may reopen a resolved chat within"),
)
