"""Office hours: is a site open now, and when does it open next. Pure functions, no I/O.

A site's ``office_hours`` setting is JSON in the site's own time zone::

    {"tz": "Asia/Tehran", "days": {"sat": [["09:00", "17:00"]], "sun": [["09:00", "13:00"],
                                                                       ["14:00", "18:00"]]}}

Days missing from ``days`` are closed. An interval whose end is not after its start runs past
midnight (``["22:00", "02:00"]``); ``"24:00"`` is accepted as an end. An empty or missing
setting means always open. So does a malformed one: visitors should be able to write rather
than meet a closed door because of a typo; :func:`parse_office_hours` reports the typo for the
admin page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
_MINUTES_PER_DAY = 24 * 60
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class OfficeHours:
    tz: ZoneInfo
    # weekday -> (start, end) in minutes after that day's midnight; end may pass 1440.
    days: dict[int, tuple[tuple[int, int], ...]]


def _minutes(text: object, what: str) -> int:
    match = _HHMM.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{what} must be a time like 09:30, not {text!r}")
    value = int(match[1]) * 60 + int(match[2])
    if value > _MINUTES_PER_DAY:
        raise ValueError(f"{what} is past 24:00")
    return value


def parse_office_hours(text: str | None) -> OfficeHours | None:
    """The parsed hours, or None when the setting is empty (always open).

    Raises ValueError with a message fit for an admin when the setting is malformed.
    """
    if text is None or not text.strip():
        return None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValueError("office hours must be JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("days", {}), dict):
        raise ValueError('office hours must look like {"tz": "...", "days": {"mon": [...]}}')
    try:
        tz = ZoneInfo(str(data.get("tz") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {data.get('tz')!r}") from None
    days: dict[int, tuple[tuple[int, int], ...]] = {}
    for name, intervals in data.get("days", {}).items():
        if name not in DAY_NAMES:
            raise ValueError(f"unknown day {name!r}; use {', '.join(DAY_NAMES)}")
        if not isinstance(intervals, list):
            raise ValueError(f"{name} must be a list of [start, end] pairs")
        spans = []
        for pair in intervals:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError(f"{name} must be a list of [start, end] pairs")
            start = _minutes(pair[0], f"{name} start")
            end = _minutes(pair[1], f"{name} end")
            if start == _MINUTES_PER_DAY:
                raise ValueError(f"{name} start must be before 24:00")
            spans.append((start, end if end > start else end + _MINUTES_PER_DAY))
        days[DAY_NAMES.index(name)] = tuple(sorted(spans))
    return OfficeHours(tz, days)


def _hours_or_none(text: str | None) -> OfficeHours | None:
    try:
        return parse_office_hours(text)
    except ValueError:
        return None


def office_hours_or_none(text: str | None) -> OfficeHours | None:
    """The hours the server acts on: None (always open) for an empty or a malformed setting,
    as :func:`is_open` reads it."""
    return _hours_or_none(text)


def _local(hours: OfficeHours, now_ms: int) -> datetime:
    return datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(hours.tz)


def _open_at(hours: OfficeHours, local: datetime) -> bool:
    minute = local.hour * 60 + local.minute
    today = local.weekday()
    yesterday = (today - 1) % 7
    if any(start <= minute < end for start, end in hours.days.get(today, ())):
        return True
    # Yesterday's intervals that run past midnight.
    return any(
        start <= minute + _MINUTES_PER_DAY < end for start, end in hours.days.get(yesterday, ())
    )


def is_open(office_hours_json: str | None, now_ms: int) -> bool:
    """True when the site is within its office hours at ``now_ms`` (Unix milliseconds)."""
    return is_open_by(_hours_or_none(office_hours_json), now_ms)


def is_open_by(hours: OfficeHours | None, now_ms: int) -> bool:
    """:func:`is_open` for hours already parsed (None: always open)."""
    return hours is None or _open_at(hours, _local(hours, now_ms))


def next_opening(office_hours_json: str | None, now_ms: int) -> int | None:
    """When a closed site opens next (Unix ms), or None when it is open now or never opens."""
    return next_opening_by(_hours_or_none(office_hours_json), now_ms)


def next_opening_by(hours: OfficeHours | None, now_ms: int) -> int | None:
    """:func:`next_opening` for hours already parsed (None: always open)."""
    if hours is None:
        return None
    local = _local(hours, now_ms)
    if _open_at(hours, local):
        return None
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        for start, _end in hours.days.get(day.weekday(), ()):
            wall = datetime(day.year, day.month, day.day, tzinfo=hours.tz) + timedelta(
                minutes=start
            )
            # Wall-clock arithmetic: 09:00 stays 09:00 on the day clocks change.
            opening = int(wall.astimezone(UTC).timestamp() * 1000)
            if opening > now_ms:
                return opening
    return None


def _intervals_ms(hours: OfficeHours, now_ms: int) -> list[tuple[int, int]]:
    """The open intervals (Unix ms) from yesterday to a week ahead, sorted by start."""
    today = _local(hours, now_ms).date()
    out = []
    for offset in range(-1, 8):
        day = today + timedelta(days=offset)
        midnight = datetime(day.year, day.month, day.day, tzinfo=hours.tz)
        for start, end in hours.days.get(day.weekday(), ()):
            # Wall-clock arithmetic, as in next_opening_by.
            a = midnight + timedelta(minutes=start)
            b = midnight + timedelta(minutes=end)
            out.append(
                (
                    int(a.astimezone(UTC).timestamp() * 1000),
                    int(b.astimezone(UTC).timestamp() * 1000),
                )
            )
    return sorted(out)


def next_closing_by(hours: OfficeHours | None, now_ms: int) -> int | None:
    """When an open site closes next (Unix ms): the end of the interval it is in, or of the
    ones it runs into (an interval ending as another begins: 24:00 and the next day's 00:00).
    None when it is closed now, always open, or open for the whole week ahead."""
    if hours is None or not is_open_by(hours, now_ms):
        return None
    intervals = _intervals_ms(hours, now_ms)
    end: int | None = None
    for start, stop in intervals:
        if end is None:
            if start <= now_ms < stop:
                end = stop
        elif start <= end < stop:
            end = stop
    if end is None or end >= max(stop for _, stop in intervals):
        return None  # open through the whole week read: no closing known
    return end
