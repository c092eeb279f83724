"""Business time (chatserver.core.business_clock) and the SLA policy built on it.

Worked examples first (a weekend, intervals past midnight, both DST changes, closed days, a
site that never opens), then properties over random office hours in zones with and without
daylight-saving time.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st

from chatserver.core.business_clock import (
    DAY_MS,
    HORIZON_MS,
    HOUR_MS,
    MINUTE_MS,
    BusinessClock,
    deadline,
    elapsed,
    open_spans,
)
from chatserver.core.hours import DAY_NAMES, OfficeHours, is_open, parse_office_hours
from chatserver.core.policy import SitePolicy
from chatserver.core.sla import SlaPolicy, business_clock, sla_delay_ms, sla_progress
from chatserver.messages import Outgoing
from chatserver.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
OFFICE = {d: [["09:00", "17:00"]] for d in WEEKDAYS}


def hours(days: dict[str, list[list[str]]], tz: str = "Europe/Berlin") -> OfficeHours:
    parsed = parse_office_hours(json.dumps({"tz": tz, "days": days}))
    assert parsed is not None
    return parsed


def at(day: str, hhmm: str, tz: ZoneInfo = BERLIN) -> int:
    """Unix ms of a local wall-clock time; ``day`` is an ISO date."""
    y, mo, d = (int(x) for x in day.split("-"))
    h, mi = (int(x) for x in hhmm.split(":"))
    return int(datetime(y, mo, d, h, mi, tzinfo=tz).timestamp() * 1000)


# --- worked examples ------------------------------------------------------------------------
# 2024-10-21 is a Monday; clocks in Berlin go back from 03:00 CEST to 02:00 CET on Sunday
# 2024-10-27 and forward from 02:00 CET to 03:00 CEST on Sunday 2024-03-31.


def test_within_the_hours_a_deadline_is_wall_time() -> None:
    office = hours(OFFICE)
    start = at("2024-10-22", "10:00")
    assert deadline(office, start, 120_000) == start + 120_000
    assert elapsed(office, start, start + 120_000) == 120_000


def test_friday_1659_plus_two_minutes_is_monday_0901_across_the_dst_weekend() -> None:
    office = hours(OFFICE)
    friday = at("2024-10-25", "16:59")  # CEST, UTC+2
    monday = at("2024-10-28", "09:01")  # CET, UTC+1
    assert deadline(office, friday, 120_000) == monday
    # 64 h 02 min on the wall clocks, one hour more in real time: the clocks went back.
    assert monday - friday == (64 * 60 + 2) * MINUTE_MS + HOUR_MS
    assert elapsed(office, friday, monday) == 120_000
    # At any moment of the weekend one minute has passed.
    assert elapsed(office, friday, at("2024-10-27", "12:00")) == MINUTE_MS


def test_a_clock_started_while_closed_waits_for_the_opening() -> None:
    office = hours(OFFICE)
    assert deadline(office, at("2024-10-22", "07:30"), 60_000) == at("2024-10-22", "09:01")
    assert deadline(office, at("2024-10-22", "17:00"), 60_000) == at("2024-10-23", "09:01")
    assert elapsed(office, at("2024-10-22", "07:30"), at("2024-10-22", "09:00")) == 0


def test_a_target_met_at_the_closing_minute_falls_due_at_the_close() -> None:
    office = hours(OFFICE)
    assert deadline(office, at("2024-10-22", "16:58"), 120_000) == at("2024-10-22", "17:00")


def test_a_target_longer_than_a_day_spans_several_closed_days() -> None:
    office = hours({"wed": [["09:00", "17:00"]]})  # one day a week, 8 hours
    start = at("2024-10-22", "12:00")  # Tuesday
    # 20 h of business time: two whole Wednesdays and 4 hours of a third.
    assert deadline(office, start, 20 * HOUR_MS) == at("2024-11-06", "13:00")
    assert elapsed(office, start, at("2024-11-06", "13:00")) == 20 * HOUR_MS


def test_an_interval_past_midnight_counts_on_both_sides_of_it() -> None:
    night = hours({"fri": [["22:00", "02:00"]]})
    friday = at("2024-10-18", "23:59")
    # 2 h 01 min remain that night; the other 59 min are the next Friday from 22:00.
    assert deadline(night, friday, 3 * HOUR_MS) == at("2024-10-25", "22:59")
    assert elapsed(night, friday, at("2024-10-19", "01:00")) == 61 * MINUTE_MS


def test_a_day_the_clocks_go_back_lasts_25_hours_and_one_they_go_forward_23() -> None:
    always = hours({d: [["00:00", "24:00"]] for d in DAY_NAMES})
    assert elapsed(always, at("2024-10-27", "00:00"), at("2024-10-28", "00:00")) == 25 * HOUR_MS
    assert elapsed(always, at("2024-03-31", "00:00"), at("2024-04-01", "00:00")) == 23 * HOUR_MS
    # Open all week is wall time, whatever the zone does.
    start = at("2024-10-26", "20:00")
    assert deadline(always, start, 10 * HOUR_MS) == start + 10 * HOUR_MS


def test_an_open_hour_that_repeats_counts_twice_and_one_that_is_skipped_not_at_all() -> None:
    two_am = hours({"sun": [["02:00", "03:00"]]})
    assert elapsed(two_am, at("2024-10-26", "12:00"), at("2024-10-28", "00:00")) == 2 * HOUR_MS
    assert elapsed(two_am, at("2024-03-30", "12:00"), at("2024-04-01", "00:00")) == 0
    # A clock started before the skipped hour runs in the next Sunday's.
    assert deadline(two_am, at("2024-03-30", "12:00"), MINUTE_MS) == at("2024-04-07", "02:01")


def test_a_site_with_no_open_day_never_reaches_a_target() -> None:
    closed = hours({})
    assert deadline(closed, at("2024-10-22", "10:00"), 60_000) is None
    assert elapsed(closed, at("2024-10-22", "10:00"), at("2024-11-22", "10:00")) == 0
    policy = SlaPolicy.from_settings({"office_hours": '{"days": {}}'})
    assert sla_delay_ms(policy, "sla_first_response_s", 0) == 0  # no timer is set


def test_a_deadline_beyond_the_horizon_is_never() -> None:
    minute = hours({"mon": [["09:00", "09:01"]]})  # one minute a week
    start = at("2024-10-21", "00:00")
    assert deadline(minute, start, 200 * MINUTE_MS) == at("2028-08-14", "09:01")  # 199 weeks on
    assert deadline(minute, start, 300 * MINUTE_MS) is None  # about 5 years and 9 months
    assert HORIZON_MS < 300 * 7 * DAY_MS


def test_always_open_is_wall_time() -> None:
    assert deadline(None, 1_000, 60_000) == 61_000
    assert elapsed(None, 1_000, 61_000) == 60_000
    assert elapsed(None, 61_000, 1_000) == 0
    assert deadline(hours(OFFICE), 5_000, 0) == 5_000


def test_spans_are_merged_across_midnight_and_overlaps() -> None:
    h = hours({"mon": [["20:00", "24:00"], ["21:00", "22:00"]], "tue": [["00:00", "08:00"]]})
    spans = open_spans(h, at("2024-10-21", "00:00"), at("2024-10-23", "00:00"))
    assert spans == [(at("2024-10-21", "20:00"), at("2024-10-22", "08:00"))]


# --- the SLA policy --------------------------------------------------------------------------


def test_without_office_hours_the_sla_deadlines_are_todays_wall_clock_ones() -> None:
    """No office hours (or a malformed setting, which the server treats as always open): the
    delays the send script gets are exactly the targets, as before business time."""
    for settings_ in ({}, {"office_hours": ""}, {"office_hours": "{not json"}):
        policy = SlaPolicy.from_settings({**settings_, "sla_first_response_s": "90"})
        assert business_clock(policy).always_open
        for start in (0, 1_729_868_340_000, 1_735_689_599_999):
            assert sla_delay_ms(policy, "sla_first_response_s", start) == 90_000
            assert sla_delay_ms(policy, "sla_next_response_s", start) == 120_000
    plain = SitePolicy(sla_first_response_s=30)
    assert sla_delay_ms(plain, "sla_first_response_s", 123) == 30_000
    assert sla_delay_ms(SitePolicy(sla_next_response_s=0), "sla_next_response_s", 123) == 0


def test_the_send_call_passes_business_deadlines_only_for_a_visitors_message() -> None:
    store = Store(aioredis.Redis())  # the argument builder only: nothing connects
    friday = at("2024-10-25", "16:59")
    office = SlaPolicy.from_settings(
        {"office_hours": json.dumps({"tz": "Europe/Berlin", "days": OFFICE})}
    )
    # The timers are set at the risk point (80 % of the target), in business time.
    for policy, first, nxt in (
        (SitePolicy(), 48_000, 96_000),  # today's: now + 80 % of the target
        (SlaPolicy.from_settings({}), 48_000, 96_000),
        # 48 s: within Friday; 96 s: one minute on Friday, 36 s on Monday.
        (office, 48_000, at("2024-10-28", "09:00") + 36_000 - friday),
    ):
        for kind in ("visitor", "agent"):
            msg = Outgoing("s", "c_1", kind, "x", "X", "m1", "hi", friday)
            _, args = store.send_call(msg, policy)
            expected = (first, nxt) if kind == "visitor" else (60_000, 120_000)
            assert (args[10], args[11]) == expected, (policy, kind)


def test_progress_of_a_clock_is_its_business_time_and_deadline() -> None:
    policy = SlaPolicy.from_settings(
        {
            "office_hours": json.dumps({"tz": "Europe/Berlin", "days": OFFICE}),
            "sla_next_response_s": "300",
        }
    )
    since = at("2024-10-24", "16:58")
    progress = sla_progress(policy, "nrt", since, at("2024-10-25", "09:00"))
    assert progress.worked_ms == 2 * MINUTE_MS
    assert progress.due == at("2024-10-25", "09:03")
    with pytest.raises(KeyError):
        sla_progress(policy, "nudge", since, since)


# --- properties -----------------------------------------------------------------------------

PROPS = settings(max_examples=200, deadline=None)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Tehran")
# Anywhere in eight years, and often within two days of a change of daylight-saving time
# (Berlin's and New York's spring and autumn 2024, Lord Howe's half-hour one, Tehran's last).
CHANGES = (
    at("2024-03-31", "01:00", ZoneInfo("UTC")),
    at("2024-10-27", "01:00", ZoneInfo("UTC")),
    at("2024-03-10", "07:00", ZoneInfo("UTC")),
    at("2024-11-03", "06:00", ZoneInfo("UTC")),
    at("2024-04-06", "15:00", ZoneInfo("UTC")),
    at("2022-09-21", "19:30", ZoneInfo("UTC")),
)
START = st.one_of(
    st.integers(min_value=at("2019-01-01", "00:00"), max_value=at("2027-01-01", "00:00")),
    st.builds(lambda c, d: c + d, st.sampled_from(CHANGES), st.integers(-2 * DAY_MS, DAY_MS)),
)
DURATION = st.integers(min_value=0, max_value=30 * DAY_MS)


@st.composite
def office_hours_json(draw: st.DrawFn) -> str:
    """A setting as the admin page writes it: some days, up to three intervals each, some of
    them past midnight or overlapping."""

    def hhmm(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    days: dict[str, list[list[str]]] = {}
    for name in draw(st.lists(st.sampled_from(DAY_NAMES), min_size=1, max_size=7, unique=True)):
        pairs = draw(
            st.lists(
                st.tuples(st.integers(0, 24 * 60 - 1), st.integers(0, 24 * 60)),
                min_size=1,
                max_size=3,
            )
        )
        days[name] = [[hhmm(a), hhmm(b)] for a, b in pairs]
    return json.dumps({"tz": draw(st.sampled_from(ZONES)), "days": days})


def _parsed(text: str) -> OfficeHours:
    parsed = parse_office_hours(text)
    assert parsed is not None
    return parsed


def office_hours() -> st.SearchStrategy[OfficeHours]:
    return office_hours_json().map(_parsed)


def within_reach(h: OfficeHours, start: int, duration: int) -> int:
    """``duration`` cut to what these hours give in 40 weeks: a few minutes a week against a
    month of business time would take centuries (past HORIZON_MS, tested on its own)."""
    weekly = elapsed(h, start, start + 7 * DAY_MS)
    return duration % (40 * weekly + 1)


@PROPS
@given(office_hours(), START, DURATION)
def test_the_business_time_to_a_deadline_is_its_duration(
    h: OfficeHours, start: int, duration: int
) -> None:
    duration = within_reach(h, start, duration)
    due = deadline(h, start, duration)
    assert due is not None
    assert due >= start + duration  # business time never runs faster than the wall
    assert elapsed(h, start, due) == duration
    if duration > 0:  # and it is the first such instant
        assert elapsed(h, start, due - 1) == duration - 1


@PROPS
@given(office_hours(), START, DURATION, DURATION)
def test_deadlines_are_monotonic_in_the_duration(
    h: OfficeHours, start: int, d1: int, d2: int
) -> None:
    d1, d2 = within_reach(h, start, d1), within_reach(h, start, d2)
    a, b = deadline(h, start, min(d1, d2)), deadline(h, start, max(d1, d2))
    assert a is not None and b is not None and a <= b


@PROPS
@given(office_hours(), START, st.lists(st.integers(0, 20 * DAY_MS), min_size=2, max_size=2))
def test_elapsed_adds_up_and_never_exceeds_the_wall(
    h: OfficeHours, start: int, gaps: list[int]
) -> None:
    mid, end = start + gaps[0], start + gaps[0] + gaps[1]
    assert elapsed(h, start, mid) + elapsed(h, mid, end) == elapsed(h, start, end)
    assert 0 <= elapsed(h, start, end) <= end - start


@PROPS
@given(office_hours_json(), START)
def test_business_time_passes_exactly_when_the_site_is_open(text: str, t: int) -> None:
    assert elapsed(_parsed(text), t, t + 1) == (1 if is_open(text, t) else 0)


@PROPS
@given(START, DURATION)
def test_always_open_equals_wall_time(start: int, duration: int) -> None:
    assert deadline(None, start, duration) == start + duration
    assert elapsed(None, start, start + duration) == duration


@PROPS
@given(office_hours(), st.lists(st.tuples(START, DURATION), min_size=1, max_size=8))
def test_one_clock_answering_many_queries_agrees_with_fresh_ones(
    h: OfficeHours, queries: list[tuple[int, int]]
) -> None:
    clock = BusinessClock(h)
    for start, duration in queries:
        duration = within_reach(h, start, duration)
        assert clock.deadline(start, duration) == deadline(h, start, duration)
        assert clock.elapsed(start, start + duration) == elapsed(h, start, start + duration)
