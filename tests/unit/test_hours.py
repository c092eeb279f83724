from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chatserver.core.hours import is_open, next_opening, parse_office_hours

TEHRAN = ZoneInfo("Asia/Tehran")
WEEKDAYS = {"sat": [["09:00", "17:00"]], "sun": [["09:00", "13:00"], ["14:00", "18:00"]]}


def hours(days: dict[str, list[list[str]]], tz: str = "Asia/Tehran") -> str:
    return json.dumps({"tz": tz, "days": days})


def ms(year: int, month: int, day: int, hour: int, minute: int = 0, tz: ZoneInfo = TEHRAN) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=tz).timestamp() * 1000)


# 2024-11-23 is a Saturday, 2024-11-24 a Sunday.
@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (ms(2024, 11, 23, 8, 59), False),
        (ms(2024, 11, 23, 9, 0), True),
        (ms(2024, 11, 23, 16, 59), True),
        (ms(2024, 11, 23, 17, 0), False),  # the end is exclusive
        (ms(2024, 11, 24, 13, 30), False),  # lunch break between two intervals
        (ms(2024, 11, 24, 14, 0), True),
        (ms(2024, 11, 25, 10, 0), False),  # Monday is not listed: closed
    ],
)
def test_open_within_the_days_intervals(when: int, expected: bool) -> None:
    assert is_open(hours(WEEKDAYS), when) is expected


def test_evaluated_in_the_sites_time_zone() -> None:
    # 09:30 in Tehran is 06:00 UTC; the same instant is open whatever the server's zone.
    instant = ms(2024, 11, 23, 6, 0, tz=ZoneInfo("UTC"))
    assert is_open(hours(WEEKDAYS), instant)
    assert not is_open(hours(WEEKDAYS, tz="America/New_York"), instant)


@pytest.mark.parametrize("setting", [None, "", "   ", '{"tz": "UTC", "days": {}}'])
def test_empty_setting_is_always_open_but_empty_days_are_closed(setting: str | None) -> None:
    expected = setting is None or not setting.strip()
    assert is_open(setting, ms(2024, 11, 23, 3)) is expected


def test_interval_past_midnight_belongs_to_the_day_it_starts() -> None:
    night = hours({"fri": [["22:00", "02:00"]]})
    friday, saturday = 22, 23  # 2024-11-22 is a Friday
    assert is_open(night, ms(2024, 11, friday, 23, 0))
    assert is_open(night, ms(2024, 11, saturday, 1, 59))
    assert not is_open(night, ms(2024, 11, saturday, 2, 0))
    assert not is_open(night, ms(2024, 11, friday, 1, 0))  # Thursday night is not open


def test_whole_day_with_2400() -> None:
    assert is_open(hours({"sat": [["00:00", "24:00"]]}), ms(2024, 11, 23, 23, 59))


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("not json", "must be JSON"),
        ('["sat"]', "must look like"),
        (hours({"sat": [["09:00", "17:00"]]}, tz="Mars/Olympus"), "unknown time zone"),
        (hours({"saturday": [["09:00", "17:00"]]}), "unknown day"),
        (hours({"sat": [["9am", "17:00"]]}), "must be a time"),
        (hours({"sat": [["09:00", "24:30"]]}), "past 24:00"),
        (hours({"sat": [["24:00", "02:00"]]}), "before 24:00"),
        (hours({"sat": [["09:00"]]}), "pairs"),
        (json.dumps({"tz": "UTC", "days": {"sat": "09:00-17:00"}}), "pairs"),
    ],
)
def test_malformed_settings_are_reported_and_treated_as_open(setting: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_office_hours(setting)
    assert is_open(setting, ms(2024, 11, 25, 3))


def test_next_opening_is_the_next_interval_start() -> None:
    # Saturday 18:00, after closing: next is Sunday 09:00.
    assert next_opening(hours(WEEKDAYS), ms(2024, 11, 23, 18)) == ms(2024, 11, 24, 9)
    # In Sunday's lunch break: 14:00 the same day.
    assert next_opening(hours(WEEKDAYS), ms(2024, 11, 24, 13, 15)) == ms(2024, 11, 24, 14)
    # Monday: the following Saturday.
    assert next_opening(hours(WEEKDAYS), ms(2024, 11, 25, 12)) == ms(2024, 11, 30, 9)


def test_next_opening_is_none_when_open_always_or_never() -> None:
    assert next_opening(hours(WEEKDAYS), ms(2024, 11, 23, 10)) is None
    assert next_opening("", ms(2024, 11, 23, 10)) is None
    assert next_opening(hours({}), ms(2024, 11, 23, 10)) is None


def test_next_opening_keeps_wall_clock_across_a_dst_change() -> None:
    # New York leaves summer time on Sunday 2024-11-03: 09:00 local is 14:00 UTC from then on.
    ny = ZoneInfo("America/New_York")
    mondays = hours({"mon": [["09:00", "17:00"]]}, tz="America/New_York")
    assert next_opening(mondays, ms(2024, 11, 2, 12, tz=ny)) == ms(2024, 11, 4, 9, tz=ny)
