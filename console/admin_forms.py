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
from chatserver.core.department_hours import SETTING as DEPARTMENT_HOURS
from chatserver.core.department_hours import department_hours_text, parse_department_hours
from chatserver.core.departments import join_departments, parse_departments
from chatserver.core.hours import DAY_NAMES, parse_office_hours
from chatserver.core.policy import REQUIRE_TWO_FACTOR, SitePolicy
from chatserver.feed import FeedEvent
from chatserver.identity import REQUIRE_SETTING
from chatserver.protocol import valid_email

MAX_CAPACITY = 50
SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
_DEPARTMENT = re.compile(r"^[^,]{1,40}$")
_SPAN = re.compile(r"^(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$")
DAY_LABELS = dict(zip(DAY_NAMES, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
POLICY_FIELDS = tuple(f.name for f in fields(SitePolicy))

Form = Mapping[str, str]


def _text(form: Form, name: str, limit: int) -> str:
    return str(form.get(name, "")).strip()[:limit]


def departments_list(raw: str) -> tuple[list[str], list[str]]:
    names = parse_departments(raw)
    bad = [d for d in names if not _DEPARTMENT.match(d)]
    errors = [f"Department names are at most 40 characters: {bad[0][:50]!r}"] if bad else []
    return names, errors


def agent_fields(form: Form, creating: bool) -> tuple[dict[str, str], list[str]]:
    """name, role, capacity, departments (and email, password when ``creating``)."""
    errors: list[str] = []
    out: dict[str, str] = {"name": _text(form, "name", 100)}
    if not out["name"]:
        errors.append("Give the agent a name.")
    role = _text(form, "role", 20)
    if role not in ROLES:
        errors.append(f"Role must be one of {', '.join(ROLES)}.")
    out["role"] = role
    try:
        capacity = int(_text(form, "capacity", 4) or "0")
    except ValueError:
        capacity = -1
    if not 0 <= capacity <= MAX_CAPACITY:
        errors.append(f"Capacity is a whole number from 0 to {MAX_CAPACITY}.")
    out["capacity"] = str(capacity)
    depts, dept_errors = departments_list(_text(form, "departments", 1000))
    errors += dept_errors
    out["departments"] = join_departments(depts)
    password = str(form.get("password", ""))
    if creating:
        out["email"] = _text(form, "email", 254).lower()
        if not _EMAIL.match(out["email"]):
            errors.append("Enter a valid email address.")
    if (creating or password) and len(password) < 10:
        errors.append("The password needs at least 10 characters.")
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
                errors.append(f"{DAY_LABELS[day]}: write hours like 09:00-17:00, not {part!r}.")
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
        return "", [f"Office hours: {exc}."]
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
        errors += [f"{name}: {e}" for e in hour_errors]
        if not hour_errors and not value:
            errors.append(f"{name}: give its hours at least one day, or use the site's hours.")
        if value:
            own[name] = orjson.loads(value)
    if errors or not own:
        return "", errors
    text = orjson.dumps(own).decode()
    try:
        parse_department_hours(text)
    except ValueError as exc:
        return "", [f"Department hours: {exc}."]
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
        return (
            f"The stored department hours cannot be read ({exc}); until they are saved again,"
            " the departments they cannot be read for use the site's hours."
        )
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
        errors.append("Give the site a name.")
    out["team_email"] = _text(form, "team_email", 254)
    if out["team_email"] and not valid_email(out["team_email"]):
        errors.append("The team e-mail address looks like support@example.com.")
    out["transcript_auto"] = "1" if form.get("transcript_auto") else "0"
    origins = _text(form, "allowed_origins", 2000).replace(",", " ").split()
    bad = [o for o in origins if o != "*" and not _ORIGIN.match(o.rstrip("/"))]
    if bad:
        errors.append(f"Origins look like https://shop.example.com; {bad[0][:80]!r} does not.")
    if not origins:
        errors.append("List the origins allowed to embed the chat, or * for any.")
    out["allowed_origins"] = " ".join(o.rstrip("/") for o in origins)
    color = _text(form, "color", 7)
    if color and not _COLOR.match(color):
        errors.append("Colour is a hex value like #2563eb.")
    out["color"] = color
    depts, dept_errors = departments_list(_text(form, "departments", 1000))
    errors += dept_errors
    out["departments"] = join_departments(depts)
    out["office_hours"], hour_errors = office_hours_json(form)
    errors += hour_errors
    out[DEPARTMENT_HOURS], dept_hour_errors = department_hours_json(form, depts)
    errors += dept_hour_errors
    labels = SitePolicy.labels()
    for name in POLICY_FIELDS:
        raw = _text(form, name, 9)
        if not raw.isdigit():
            errors.append(f"{labels.get(name, name)}: whole seconds, 0 or more.")
        out[name] = raw
    return out, errors


def canned_fields(form: Form) -> tuple[str, str, list[str]]:
    shortcut = _text(form, "shortcut", 40).lstrip("/").lower()
    text = str(form.get("text", "")).strip()
    errors = []
    if not SHORTCUT.match(shortcut):
        errors.append("Shortcuts are 1-32 lowercase letters, digits, - or _.")
    if not text or len(text) > 4000:
        errors.append("The text is 1-4000 characters.")
    return shortcut, text, errors


def api_key_fields(form: Form) -> tuple[str, str, list[str]]:
    """The name and scope of a new API key."""
    name, scope = _text(form, "name", 100), _text(form, "scope", 10)
    errors = [] if name else ["Give the key a name, like the system that will use it."]
    if scope not in SCOPES:
        errors.append(f"Scope must be one of {', '.join(SCOPES)}.")
    return name, scope, errors


EVENT_TYPES = tuple(e.value for e in FeedEvent)


def webhook_fields(
    form: Form, events: Sequence[str]
) -> tuple[dict[str, str], list[str], list[str]]:
    """A new endpoint's url and description, and its event types (none: every type)."""
    out = {"url": _text(form, "url", 2000), "description": _text(form, "description", 200)}
    errors = []
    if not valid_url(out["url"]):
        errors.append(
            "The URL is an http:// or https:// address, like https://crm.example.com/chat."
        )
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        errors.append(f"No such event type: {unknown[0][:40]!r}.")
    return out, list(dict.fromkeys(events)), errors


def replay_since(form: Form, now_ms: int) -> tuple[int, list[str]]:
    """The time (ms) to deliver again from, typed in UTC (an ``<input type=datetime-local>``)."""
    try:
        when = datetime.fromisoformat(_text(form, "since", 40))
    except ValueError:
        return 0, ["Give the time to replay from, like 2026-12-01 09:30 (UTC)."]
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    ms = int(when.timestamp() * 1000)
    # A time to come has nothing to deliver again: say so, rather than appear to replay.
    if ms > now_ms:
        return 0, ["That time has not come yet; choose one in the past."]
    return ms, []


def when_utc(ms: int | str | None) -> str:
    """A stored time (ms since the epoch) as the admin pages show it; '' for none."""
    value = int(ms or 0)
    if value <= 0:
        return ""
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
