"""The audit log's vocabulary and its search: which actions exist, and which entries a query
matches. Pure: the store reads the stream, this decides.

Every entry has the same fields whoever writes it (the Lua scripts of supervision, the
store's one writer for everything else): ts (ms), actor (an agent id, ``key:<id>`` for an API
key, '' for nobody known), name (the actor's name, or the e-mail typed at a failed sign-in),
action, conv (a conversation id or ''), detail (free text for people, never parsed).
"""

from __future__ import annotations

from dataclasses import dataclass

# What the log records, grouped for the admin page's filter. Supervisors' steps are written
# by lua/supervise.lua and lua/take_over.lua; export and erasure by the privacy tools.
ACTION_GROUPS: dict[str, tuple[str, ...]] = {
    "Sign-in": (
        "sign_in",
        "sign_in_failed",
        "two_factor_enabled",
        "two_factor_disabled",
        "two_factor_reset",
        "recovery_code_used",
        "session_revoked",
        "password_reset",
    ),
    "Admin changes": (
        "site_created",
        "site_settings",
        "agent_created",
        "agent_updated",
        "agent_deactivated",
        "agent_reactivated",
        "canned_saved",
        "canned_deleted",
        "webhook_created",
        "webhook_removed",
        "webhook_replayed",
        "api_key_created",
        "api_key_revoked",
        "identity_secret_rotated",
        "notice_posted",
        "notice_ended",
        "article_saved",
        "article_deleted",
    ),
    "API": ("api_key_used",),
    "Supervision": ("monitor", "unmonitor", "whisper", "join", "leave", "take_over"),
    "Privacy": ("export", "erase", "csv_export"),
}
ACTIONS: tuple[str, ...] = tuple(a for group in ACTION_GROUPS.values() for a in group)

MAX_DETAIL = 500  # characters of detail kept per entry


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    ts: int
    actor_id: str
    actor_name: str
    action: str
    conv_id: str
    detail: str


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """What the admin page and the REST API filter on; empty fields match everything.

    ``since`` and ``until`` are ms (inclusive); ``text`` is searched, case-insensitively, in
    the detail, the actor's name and the conversation id."""

    action: str = ""
    actor: str = ""
    text: str = ""
    since: int = 0
    until: int = 0

    def matches(self, entry: AuditEntry) -> bool:
        if self.action and entry.action != self.action:
            return False
        if self.actor and entry.actor_id != self.actor:
            return False
        if self.since and entry.ts < self.since:
            return False
        if self.until and entry.ts > self.until:
            return False
        if self.text:
            needle = self.text.casefold()
            hay = f"{entry.detail}\n{entry.actor_name}\n{entry.conv_id}".casefold()
            if needle not in hay:
                return False
        return True

    @property
    def empty(self) -> bool:
        return not (self.action or self.actor or self.text or self.since or self.until)


def clean_detail(text: str) -> str:
    """Detail as stored: one line (no control characters), at most MAX_DETAIL characters."""
    # Joiners stay: Persian writes with the zero-width non-joiner (U+200C).
    flat = "".join(ch if ch.isprintable() or ch in "\u200c\u200d" else " " for ch in text)
    return flat[:MAX_DETAIL]


CSV_HEADER = (
    "id",
    "time_utc",
    "ts_ms",
    "actor_id",
    "actor_name",
    "action",
    "conversation",
    "detail",
)


def csv_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP's CSV-injection advice)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
