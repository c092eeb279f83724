"""Checks for the admin pages' forms: plain functions from submitted fields to stored fields.

Each returns the fields to store and a list of messages for the admin; nothing is stored
when there is any message. ``when_utc`` is how the pages show a stored time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import UTC, datetime

import orjson

from chatserver.api.webhook_handlers import valid_url
from chatserver.api_keys import SCOPES
from chatserver.auth import ROLES
from chatserver.core.canned import check
from chatserver.core.department_hours import SETTING as DEPARTMENT_HOURS
from chatserver.core.department_hours import department_hours_text, parse_department_hours
from chatserver.core.departments import join_departments, parse_departments
from chatserver.core.hours import DAY_NAMES, parse_office_hours
from chatserver.core.policy import REQUIRE_TWO_FACTOR, SitePolicy
from chatserver.feed import FeedEvent
from chatserver.identity import REQUIRE_SETTING
from chatserver.mail.alerts import TEAM_LANGUAGE
from chatserver.mail.render import LANGUAGES as MAIL_LANGUAGES
from chatserver.protocol import valid_email
from console.i18n import translate

MAX_CAPACITY = 50
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
_DEPARTMENT = re.compile(r"^[^,]{1,40}$")
_SPAN = re.compile(r"^(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$")
DAY_LABELS = dict(zip(DAY_NAMES, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
# The catalogue keys of the days and of the policy fields (the pages show these; DAY_LABELS
# and SitePolicy.labels() stay the English names the messages below are built from).
DAY_KEYS = {
    "mon": "admin.day_mon",
    "tue": "admin.day_tue",
    "wed": "admin.day_wed",
    "thu": "admin.day_thu",
    "fri": "admin.day_fri",
    "sat": "admin.day_sat",
    "sun": "admin.day_sun",
}
POLICY_KEYS = {
    "sla_first_response_s": "admin.policy_sla_first_response_s",
    "sla_next_response_s": "admin.policy_sla_next_response_s",
    "sla_breach_reassign_s": "admin.policy_sla_breach_reassign_s",
    "agent_grace_s": "admin.policy_agent_grace_s",
    "assign_timeout_s": "admin.policy_assign_timeout_s",
    "queue_timeout_s": "admin.policy_queue_timeout_s",
    "follow_up_after_s": "admin.policy_follow_up_after_s",
    "nudge_after_s": "admin.policy_nudge_after_s",
    "park_after_s": "admin.policy_park_after_s",
    "visitor_grace_s": "admin.policy_visitor_grace_s",
    "keep_place_s": "admin.policy_keep_place_s",
    "abandon_after_s": "admin.policy_abandon_after_s",
    "reopen_window_s": "admin.policy_reopen_window_s",
}
POLICY_FIELDS = tuple(f.name for f in fields(SitePolicy))

Form = Mapping[str, str]


class Problem(str):
    """A message for the admin: its English text (what logs, tests and English pages read)
    that also knows its catalogue key and values, so a page shows it in the reader's language
    (``{{ problem(e) }}``, console.admin_common). A value may itself be a Problem."""

    key: str
    values: dict[str, object]

    def __new__(cls, key: str, **values: object) -> Problem:
        english = translate("en", key, **{k: str(v) for k, v in values.items()})
        self = super().__new__(cls, english)
        self.key = key
        self.values = values
        return self


def _text(form: Form, name: str, limit: int) -> str:
    return str(form.get(name, "")).strip()[:limit]


def departments_list(raw: str) -> tuple[list[str], list[str]]:
    names = parse_departments(raw)
    bad = [d for d in names if not _DEPARTMENT.match(d)]
    errors: list[str] = (
        [Problem("admin.err_department_long", name=repr(bad[0][:50]))] if bad else []
    )
    return names, errors


def agent_fields(form: Form, creating: bool) -> tuple[dict[str, str], list[str]]:
    """name, role, capacity, departments (and email, password when ``creating``)."""
    errors: list[str] = []
    out: dict[str, str] = {"name": _text(form, "name", 100)}
    if not out["name"]:
        errors.append(Problem("admin.err_agent_name"))
    role = _text(form, "role", 20)
    if role not in ROLES:
        errors.append(Problem("admin.err_role", roles=", ".join(ROLES)))
    out["role"] = role
    try:
        capacity = int(_text(form, "capacity", 4) or "0")
    except ValueError:
        capacity = -1
    if not 0 <= capacity <= MAX_CAPACITY:
        errors.append(Problem("admin.err_capacity", max=MAX_CAPACITY))
    out["capacity"] = str(capacity)
    depts, dept_errors = departments_list(_text(form, "departments", 1000))
    errors += dept_errors
    out["departments"] = join_departments(depts)
    password = str(form.get("password", ""))
    if creating:
        out["email"] = _text(form, "email", 254).lower()
        if not _EMAIL.match(out["email"]):
            errors.append(Problem("admin.err_email"))
    if (creating or password) and len(password) < 10:
        errors.append(Problem("admin.err_password", n=10))
    if password:
        out["password"] = password[:1024]
    return out, errors


def office_hours_json(form: Form) -> tuple[str, list[str]]:
    """The office_hours setting from one text field per day ("09:00-17:00, 18:00-20:00")
    and a time zone; '' (always open) when no day has hours."""
    days: dict[str, list[list[str]]] = {}
    errors: list[str] = []
    for day in DAY_NAMES:
        raw = _text(form, f"hours_{day}", 200)
        spans = []
        for part in (p.strip() for p in raw.split(",") if p.strip()):
            match = _SPAN.match(part)
            if match is None:
                errors.append(
                    Problem("admin.err_hours", day=Problem(DAY_KEYS[day]), typed=repr(part))
                )
                continue
            spans.append([match[1].zfill(5), match[2].zfill(5)])
        if spans:
            days[day] = spans
    if errors or not days:
        return "", errors
    value = orjson.dumps({"tz": _text(form, "tz", 64) or "UTC", "days": days}).decode()
    try:
        parse_office_hours(value)
    except ValueError as exc:
        return "", [Problem("admin.err_office_hours", detail=str(exc))]
    return value, []


def office_hours_form(value: str) -> dict[str, str]:
    """The per-day text fields for a stored office_hours setting (the inverse of the above)."""
    try:
        data = orjson.loads(value) if value.strip() else {}
    except orjson.JSONDecodeError:
        data = {}
    days = data.get("days", {}) if isinstance(data, dict) else {}
    out = {"tz": str(data.get("tz", "")) if isinstance(data, dict) else ""}
    for day in DAY_NAMES:
        spans = days.get(day, []) if isinstance(days, dict) else []
        out[day] = ", ".join(f"{a}-{b}" for a, b in spans if isinstance(spans, list))
    return out


DEPT_PREFIX = "dh"  # the form fields of department i: dh{i}_name, dh{i}_mode, dh{i}_tz, ...
MAX_DEPARTMENT_ROWS = 100


def _department_form(form: Form, i: int) -> dict[str, str]:
    """Department i's own-hours fields, named as office_hours_json reads the site's."""
    pre = f"{DEPT_PREFIX}{i}_"
    return {
        "tz": str(form.get(f"{pre}tz", "")),
        **{f"hours_{d}": str(form.get(f"{pre}{d}", "")) for d in DAY_NAMES},
    }


def department_hours_json(form: Form, departments: Sequence[str]) -> tuple[str, list[str]]:
    """The department_hours setting from the rows of the site page: per department, "use
    the site's hours" or its own per-day fields. Rows of departments no longer listed drop."""
    own: dict[str, object] = {}
    errors: list[str] = []
    for i in range(MAX_DEPARTMENT_ROWS):
        name = form.get(f"{DEPT_PREFIX}{i}_name")
        if name is None:
            break
        name = str(name).strip()
        if name not in departments or form.get(f"{DEPT_PREFIX}{i}_mode") != "own":
            continue
        value, hour_errors = office_hours_json(_department_form(form, i))
        errors += [Problem("admin.err_in_department", name=name, problem=e) for e in hour_errors]
        if not hour_errors and not value:
            errors.append(
                Problem("admin.err_in_department", name=name, problem=Problem("admin.err_no_day"))
            )
        if value:
            own[name] = orjson.loads(value)
    if errors or not own:
        return "", errors
    text = orjson.dumps(own).decode()
    try:
        parse_department_hours(text)
    except ValueError as exc:
        return "", [Problem("admin.err_department_hours", detail=str(exc))]
    return text, []


def department_hours_rows(
    departments: Sequence[str], stored: str, form: Form | None = None
) -> list[dict[str, object]]:
    """One row per department for the site page: its name, whether it has its own hours,
    and the per-day fields (from ``stored``, or as typed in ``form`` after a refused save)."""
    typed: dict[str, int] = {}
    if form is not None:
        for i in range(MAX_DEPARTMENT_ROWS):
            name = form.get(f"{DEPT_PREFIX}{i}_name")
            if name is None:
                break
            typed[str(name).strip()] = i
    saved = department_hours_text(stored)
    rows: list[dict[str, object]] = []
    for name in departments:
        if name in typed:
            i = typed[name]
            sub = _department_form(form or {}, i)
            hours = {"tz": sub["tz"], **{d: sub[f"hours_{d}"] for d in DAY_NAMES}}
            is_own = (form or {}).get(f"{DEPT_PREFIX}{i}_mode") == "own"
        else:
            hours = office_hours_form(saved.get(name, ""))
            is_own = name in saved
        rows.append({"name": name, "own": is_own, "hours": hours})
    return rows


def department_hours_problem(stored: str) -> str:
    """What is wrong with a stored department_hours setting ('' when nothing): set by hand
    it may hold a typo, which the server reads as "the site's hours"."""
    try:
        parse_department_hours(stored)
    except ValueError as exc:
        return Problem("admin.err_stored_department_hours", detail=str(exc))
    return ""


def site_fields(form: Form) -> tuple[dict[str, str], list[str]]:
    """Every site setting the admin page edits (see the shared settings contract)."""
    errors: list[str] = []
    out = {
        "name": _text(form, "name", 100),
        "greeting": _text(form, "greeting", 500),
        "locale": _text(form, "locale", 35),
        "prechat": "1" if form.get("prechat") else "0",
        REQUIRE_SETTING: "1" if form.get(REQUIRE_SETTING) else "0",
        REQUIRE_TWO_FACTOR: "1" if form.get(REQUIRE_TWO_FACTOR) else "0",
    }
    if not out["name"]:
        errors.append(Problem("admin.err_site_name"))
    out["team_email"] = _text(form, "team_email", 254)
    if out["team_email"] and not valid_email(out["team_email"]):
        errors.append(Problem("admin.err_team_email"))
    out[TEAM_LANGUAGE] = _text(form, TEAM_LANGUAGE, 8)
    if out[TEAM_LANGUAGE] not in ("", *MAIL_LANGUAGES):
        errors.append(Problem("admin.err_team_language"))
    out["transcript_auto"] = "1" if form.get("transcript_auto") else "0"
    origins = _text(form, "allowed_origins", 2000).replace(",", " ").split()
    bad = [o for o in origins if o != "*" and not _ORIGIN.match(o.rstrip("/"))]
    if bad:
        errors.append(Problem("admin.err_origin", typed=repr(bad[0][:80])))
    if not origins:
        errors.append(Problem("admin.err_no_origins"))
    out["allowed_origins"] = " ".join(o.rstrip("/") for o in origins)
    color = _text(form, "color", 7)
    if color and not _COLOR.match(color):
        errors.append(Problem("admin.err_color"))
    out["color"] = color
    depts, dept_errors = departments_list(_text(form, "departments", 1000))
    errors += dept_errors
    out["departments"] = join_departments(depts)
    out["office_hours"], hour_errors = office_hours_json(form)
    errors += hour_errors
    out[DEPARTMENT_HOURS], dept_hour_errors = department_hours_json(form, depts)
    errors += dept_hour_errors
    for name in POLICY_FIELDS:
        raw = _text(form, name, 9)
        if not raw.isdigit():
            label = Problem(POLICY_KEYS[name]) if name in POLICY_KEYS else name
            errors.append(Problem("admin.err_seconds", field=label))
        out[name] = raw
    return out, errors


_CANNED_PROBLEMS = {
    "invalid_shortcut": "admin.err_shortcut",
    "invalid_text": "admin.err_canned_text",
    "unknown_variable": "admin.err_canned_variable",
    "invalid_fallback": "admin.err_canned_fallback",
}


def canned_fields(form: Form) -> tuple[str, str, list[str]]:
    """The canonical shortcut and the text of a shared canned response (core.canned)."""
    shortcut, text, problems = check(_text(form, "shortcut", 40), str(form.get("text", "")))
    errors: list[str] = [
        Problem(_CANNED_PROBLEMS[p.code], typed=p.typed)
        if p.code in ("unknown_variable", "invalid_fallback")
        else Problem(_CANNED_PROBLEMS[p.code])
        for p in problems
    ]
    return shortcut, text, errors


def api_key_fields(form: Form) -> tuple[str, str, list[str]]:
    """The name and scope of a new API key."""
    name, scope = _text(form, "name", 100), _text(form, "scope", 10)
    errors: list[str] = [] if name else [Problem("admin.err_key_name")]
    if scope not in SCOPES:
        errors.append(Problem("admin.err_scope", scopes=", ".join(SCOPES)))
    return name, scope, errors


EVENT_TYPES = tuple(e.value for e in FeedEvent)


def webhook_fields(
    form: Form, events: Sequence[str]
) -> tuple[dict[str, str], list[str], list[str]]:
    """A new endpoint's url and description, and its event types (none: every type)."""
    out = {"url": _text(form, "url", 2000), "description": _text(form, "description", 200)}
    errors: list[str] = []
    if not valid_url(out["url"]):
        errors.append(Problem("admin.err_url"))
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        errors.append(Problem("admin.err_event_type", typed=repr(unknown[0][:40])))
    return out, list(dict.fromkeys(events)), errors


def replay_since(form: Form, now_ms: int) -> tuple[int, list[str]]:
    """The time (ms) to deliver again from, typed in UTC (an ``<input type=datetime-local>``)."""
    try:
        when = datetime.fromisoformat(_text(form, "since", 40))
    except ValueError:
        return 0, [Problem("admin.err_replay_since")]
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    ms = int(when.timestamp() * 1000)
    # A time to come has nothing to deliver again: say so, rather than appear to replay.
    if ms > now_ms:
        return 0, [Problem("admin.err_replay_future")]
    return ms, []


def when_utc(ms: int | str | None) -> str:
    """A stored time (ms since the epoch) as the admin pages show it; '' for none."""
    value = int(ms or 0)
    if value <= 0:
        return ""
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
