"""Keep my place: a queued visitor who closes the page keeps their place for a while.

How long a place is kept is decided in lua/timer.lua (``vgone``: ``keep_place_s`` after the
visitor left, or after an agent took the chat when that came later). This is the mail step's
half (chatserver/mail/alerts.py): whether an agent's assignment calls for the "an agent is
ready for you" mail, and the field on the conversation that makes it go once per absence.
"""

from __future__ import annotations

from collections.abc import Mapping

# The conversation's field holding when its visitor left (ms) while their place is kept; set
# by lua/timer.lua and read by lua/claim.lua. It may outlive the absence (a visitor who came
# back clears it only when a timer sees them), so the mail step checks presence itself.
KEPT_FIELD = "place_kept_since"

# Statuses of a chat an agent has just taken and not yet answered.
_TAKEN = frozenset({"assigned", "waiting_on_agent"})


def _num(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def ready_mail_once(
    conv: Mapping[str, str], email: str, here: bool, keep_ms: int, grace_ms: int
) -> str:
    """The "once" field of the agent-ready mail the conversation calls for now, or ''.

    Due when an agent took the chat after its visitor left and within the time their place
    was kept (``max(keep, grace)`` after they left: before the grace ends the chat is kept
    anyway), nobody has answered yet (an answer goes to them by mail itself), they are still
    away, and they have an e-mail address. One per absence: a chat passed between agents
    while the visitor is away mails them once.
    """
    left = _num(conv.get(KEPT_FIELD))
    assigned = _num(conv.get("assigned_at"))
    if keep_ms <= 0 or not left or not email or here:
        return ""
    if conv.get("status", "") not in _TAKEN or conv.get("first_agent_reply_at"):
        return ""
    if assigned < left or assigned > left + max(keep_ms, grace_ms):
        return ""
    return f"mail_ready_{left}"
