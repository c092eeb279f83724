"""Office hours in the wait estimate: closing times, and waits that run past them."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from chatserver.core.estimate import within_hours
from chatserver.core.hours import (
    is_open_by,
    next_closing_by,
    next_opening_by,
    parse_office_hours,
)

TEHRAN = ZoneInfo("Asia/Tehran")
# 2024-11-23 is a Saturday, 2024-11-24 a Sunday.
WEEK = parse_office_hours(
    json.dumps(
        {
            "tz": "Asia/Tehran",
            "days": {
                "sat": [["09:00", "17:00"]],
                "sun": [["09:00", "13:00"], ["14:00", "18:00"]],
                "mon": [["22:00", "24:00"]],
                "tue": [["00:00", "02:00"]],
            },
        }
    )
)


def ms(month: int, day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(2024, month, day, hour, minute, tzinfo=TEHRAN).timestamp() * 1000)


def test_closing_is_the_end_of_the_interval_now() -> None:
    assert next_closing_by(WEEK, ms(11, 23, 10)) == ms(11, 23, 17)
    assert next_closing_by(WEEK, ms(11, 24, 12, 59)) == ms(11, 24, 13)  # before lunch
    assert next_closing_by(WEEK, ms(11, 23, 8)) is None  # closed now
    assert next_closing_by(None, ms(11, 23, 10)) is None  # always open


def test_intervals_that_meet_at_midnight_close_once() -> None:
    assert next_closing_by(WEEK, ms(11, 25, 23)) == ms(11, 26, 2)


def test_open_all_week_has_no_closing() -> None:
    always = parse_office_hours(
        json.dumps(
            {
                "tz": "UTC",
                "days": {
                    d: [["00:00", "24:00"]]
                    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                },
            }
        )
    )
    assert next_closing_by(always, ms(11, 23, 10)) is None


def test_a_wait_within_the_hours_is_unchanged() -> None:
    assert within_hours(600, ms(11, 23, 10), WEEK) == (600, None)
    assert within_hours(0, ms(11, 23, 16, 59), WEEK) == (0, None)
    assert within_hours(600, ms(11, 23, 10), None) == (600, None)


def test_a_wait_past_closing_resumes_at_the_next_opening() -> None:
    # 16:50 on Saturday, 20 minutes of wait: 10 before closing, 10 after Sunday's 09:00.
    estimate, opens = within_hours(1200, ms(11, 23, 16, 50), WEEK)
    assert opens == ms(11, 24, 9)
    assert estimate == (ms(11, 24, 9, 10) - ms(11, 23, 16, 50)) // 1000


def test_closed_and_nobody_online_is_told_when_the_team_is_back() -> None:
    assert within_hours(None, ms(11, 23, 8), WEEK) == (None, ms(11, 23, 9))
    assert within_hours(None, ms(11, 23, 10), WEEK) == (None, None)  # open: nobody online


def test_agents_online_outside_the_hours_keep_the_estimate() -> None:
    assert within_hours(300, ms(11, 23, 20), WEEK) == (300, None)


@given(st.integers(min_value=ms(11, 20, 0), max_value=ms(11, 30, 0)), st.integers(0, 86_400))
def test_closing_and_the_estimate_agree_with_is_open(now: int, wait_s: int) -> None:
    closing = next_closing_by(WEEK, now)
    if closing is not None:
        assert is_open_by(WEEK, now) and closing > now
        assert not is_open_by(WEEK, closing) and is_open_by(WEEK, closing - 60_000)
    estimate, opens = within_hours(wait_s, now, WEEK)
    assert estimate is not None and estimate >= wait_s  # closed time only adds
    if opens is not None:
        assert opens == next_opening_by(WEEK, closing or now)
        assert now + estimate * 1000 >= opens
