"""Office hours per department, and the business clock each conversation's SLA runs on.

A site's ``department_hours`` setting is a JSON object from a department's name to office
hours of the same shape as the site's ``office_hours`` (:mod:`chatserver.core.hours`)::

    {"Sales": {"tz": "Europe/Berlin", "days": {"mon": [["08:00", "20:00"]]}},
     "پشتیبانی": {"tz": "Asia/Tehran", "days": {"sat": [["09:00", "17:00"]]}}}

A department that is not in it (or whose value is empty or ``null``) keeps the site's hours.
Like ``office_hours``, a typo never closes a door: the server reads a malformed setting as
empty and a malformed department's hours as the site's, and :func:`parse_department_hours`
reports the typo for the admin page.

A department transfer changes the hours a running response clock counts from the transfer
on; the business time counted before it stays counted. The transfer scripts keep, while a
clock runs, the conversation's ``department_changes``: a JSON list of ``[at, department
before]``, oldest first. Pure, no I/O; every instant is an argument (Unix ms).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from chatserver.core.business_clock import ALWAYS_OPEN, BusinessClock
from chatserver.core.hours import OfficeHours, office_hours_or_none, parse_office_hours

SETTING = "department_hours"
CHANGES_FIELD = "department_changes"  # on the conversation hash (the transfer scripts')


def _object(text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValueError("department hours must be JSON") from None
    if not isinstance(data, dict):
        raise ValueError('department hours must look like {"Sales": {"tz": ..., "days": ...}}')
    return data


def _value_text(value: object) -> str | None:
    """One department's hours as office_hours text; None for "use the site's"."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def parse_department_hours(text: str | None) -> dict[str, OfficeHours]:
    """Each department with hours of its own, parsed; empty for an empty setting.

    Raises ValueError with a message fit for an admin (naming the department) when the
    setting or any department's hours are malformed.
    """
    out: dict[str, OfficeHours] = {}
    for name, value in _object(text).items():
        try:
            hours = parse_office_hours(_value_text(value))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        if hours is not None:
            out[name] = hours
    return out


def department_hours_text(text: str | None) -> dict[str, str]:
    """Each department's own hours as office_hours text (for the admin form), leniently:
    what cannot be read is left out."""
    try:
        data = _object(text)
    except ValueError:
        return {}
    out = {}
    for name, value in data.items():
        raw = _value_text(value)
        if raw is not None:
            out[str(name)] = raw
    return out


class DepartmentClocks:
    """The business clocks of one site: the site's, and one per department with its own
    hours. Built once per settings change (the clocks keep memos across queries); the
    departments with identical hours share one clock."""

    __slots__ = ("distinct", "own", "site")

    def __init__(self, site: BusinessClock, own: Mapping[str, BusinessClock]) -> None:
        self.site = site
        self.own = dict(own)
        unique: dict[int, BusinessClock] = {id(site): site}
        for clock in self.own.values():
            unique.setdefault(id(clock), clock)
        # Every clock some conversation may run on, the site's first.
        self.distinct = tuple(unique.values())

    @classmethod
    def from_settings(cls, settings: Mapping[str, str] | None) -> DepartmentClocks:
        """The site's ``office_hours`` and ``department_hours``, read as the server acts
        on them (malformed parts fall back, see the module's doc)."""
        settings = settings or {}
        site_text = settings.get("office_hours")
        site = BusinessClock(office_hours_or_none(site_text))
        try:
            data = _object(settings.get(SETTING))
        except ValueError:
            data = {}
        by_text: dict[str, BusinessClock] = {}
        own: dict[str, BusinessClock] = {}
        for name, value in data.items():
            raw = _value_text(value)
            try:
                hours = parse_office_hours(raw)
            except ValueError:
                continue  # this department keeps the site's hours
            if hours is None or raw is None:
                continue
            key = _canonical(raw)
            if key not in by_text:
                same_as_site = site_text is not None and key == _canonical(site_text)
                by_text[key] = site if same_as_site else BusinessClock(hours)
            own[str(name)] = by_text[key]
        return cls(site, own)

    def clock(self, department: str) -> BusinessClock:
        """The clock of a conversation in ``department`` ('' for none)."""
        return self.own.get(department, self.site)

    def earliest_deadline(self, start_ms: int, duration_ms: int) -> int | None:
        """The earliest of every clock's deadline: when the department is not known, a timer
        set there is never late (judged then, it waits on for its own clock)."""
        dues = [d for c in self.distinct if (d := c.deadline(start_ms, duration_ms)) is not None]
        return min(dues) if dues else None

    def elapsed(self, department: str, changes: str | None, since_ms: int, now_ms: int) -> int:
        """The business time (ms) of a clock started at ``since_ms``, at ``now_ms``, for a
        conversation now in ``department`` with the transfers ``changes``."""
        total = 0
        for start, end, dept in segments(department, changes, since_ms):
            stop = now_ms if end is None else min(end, now_ms)
            total += self.clock(dept).elapsed(start, stop)
        return total

    def deadline(
        self, department: str, changes: str | None, since_ms: int, duration_ms: int
    ) -> int | None:
        """When the clock started at ``since_ms`` has counted ``duration_ms``, as the hours
        stand (the current department's from the last transfer on); None: never."""
        if duration_ms <= 0:
            return since_ms
        done = 0
        for start, end, dept in segments(department, changes, since_ms):
            clock = self.clock(dept)
            if end is None:
                return clock.deadline(start, duration_ms - done)
            worked = clock.elapsed(start, end)
            if done + worked >= duration_ms:
                return clock.deadline(start, duration_ms - done)
            done += worked
        return None  # not reached: the last segment is open-ended


def _canonical(text: str) -> str:
    try:
        return orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONDecodeError:
        return text


def parse_changes(raw: str | None) -> list[tuple[int, str]]:
    """A conversation's ``department_changes``, oldest first; [] when none or malformed."""
    if not raw:
        return []
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []
    out: list[tuple[int, str]] = []
    if not isinstance(data, list):
        return []
    for entry in data:
        if isinstance(entry, list) and len(entry) == 2:
            try:
                out.append((int(entry[0]), str(entry[1])))
            except (TypeError, ValueError):
                continue
    out.sort(key=lambda e: e[0])
    return out


def segments(
    department: str, changes: str | None, since_ms: int
) -> list[tuple[int, int | None, str]]:
    """The pieces of a clock started at ``since_ms``: ``(start, end, department)``, the last
    one open-ended (``end`` None) in the current ``department``. A transfer at or before the
    clock's start does not split it."""
    out: list[tuple[int, int | None, str]] = []
    start = since_ms
    for at, before in parse_changes(changes):
        if at <= start:
            continue
        out.append((start, at, before))
        start = at
    out.append((start, None, department))
    return out


SITE_ONLY = DepartmentClocks(ALWAYS_OPEN, {})
