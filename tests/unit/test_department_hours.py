"""Office hours per department (chatserver.core.department_hours): the setting, the clock each
conversation's SLA runs on, transfers that change it from then on, and the admin form.

Worked examples first, then properties over random sequences of transfers.
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatserver.core.business_clock import MINUTE_MS
from chatserver.core.department_hours import (
    CHANGES_FIELD,
    SETTING,
    DepartmentClocks,
    department_hours_text,
    parse_changes,
    parse_department_hours,
    segments,
)
from chatserver.core.now_figures import sla_clock
from chatserver.core.sla import SlaPolicy, alarm_delay_ms, sla_delay_ms, sla_progress
from console.admin_forms import (
    department_hours_json,
    department_hours_problem,
    department_hours_rows,
    site_fields,
)

BERLIN = ZoneInfo("Europe/Berlin")
S = 1000
WEEKDAYS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
LONG = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}
SITE_HOURS = json.dumps({"tz": "Europe/Berlin", "days": WEEKDAYS})
SALES = {"tz": "Europe/Berlin", "days": LONG}
SUPPORT = "پشتیبانی"  # Persian: "support"; keeps the site's hours


def at(day: int, hhmm: str) -> int:
    """Unix ms of a Berlin wall-clock time on 2024-10-``day`` (the 21st is a Monday)."""
    h, mi = (int(x) for x in hhmm.split(":"))
    return int(datetime(2024, 10, day, h, mi, tzinfo=BERLIN).timestamp() * 1000)


def site_settings(**extra: str) -> dict[str, str]:
    return {
        "office_hours": SITE_HOURS,
        SETTING: json.dumps({"Sales": SALES}),
        "sla_first_response_s": "120",
        "sla_next_response_s": "300",
        **extra,
    }


# --- the setting ----------------------------------------------------------------------------
def test_the_setting_parses_per_department() -> None:
    parsed = parse_department_hours(json.dumps({"Sales": SALES, SUPPORT: None, "Web": ""}))
    assert set(parsed) == {"Sales"}  # null and "" keep the site's hours
    assert parsed["Sales"].tz == BERLIN and 5 in parsed["Sales"].days
    # A value may also be office_hours text, as the site's setting is stored.
    assert set(parse_department_hours(json.dumps({"Sales": json.dumps(SALES)}))) == {"Sales"}
    assert parse_department_hours("") == {} and parse_department_hours(None) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "must be JSON"),
        ("[1]", "must look like"),
        (json.dumps({"Sales": {"tz": "Mars/Olympus"}}), "Sales: unknown time zone"),
        (json.dumps({SUPPORT: {"days": {"sun": [["9:00", "17:00"]]}}}), f"{SUPPORT}: sun start"),
        (json.dumps({"Sales": {"days": {"funday": []}}}), "Sales: unknown day"),
    ],
)
def test_a_typo_is_reported_naming_the_department(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_department_hours(text)
    assert department_hours_problem(text).startswith("The stored department hours")


def test_the_server_reads_typos_leniently() -> None:
    # The whole setting malformed: every department keeps the site's hours.
    clocks = DepartmentClocks.from_settings({"office_hours": SITE_HOURS, SETTING: "{"})
    assert clocks.own == {} and clocks.clock("Sales") is clocks.site
    # One department malformed: only it keeps the site's.
    bad = json.dumps({"Sales": SALES, "Web": {"tz": "Nowhere/Land"}})
    clocks = DepartmentClocks.from_settings({"office_hours": SITE_HOURS, SETTING: bad})
    assert set(clocks.own) == {"Sales"} and clocks.clock("Web") is clocks.site
    assert department_hours_text(bad).keys() == {"Sales", "Web"}
    assert department_hours_text("{") == {}


def test_departments_with_the_same_hours_share_one_clock() -> None:
    same = json.dumps({"Sales": SALES, "Web": dict(reversed(list(SALES.items()))), "Site": {}})
    clocks = DepartmentClocks.from_settings({"office_hours": SITE_HOURS, SETTING: same})
    assert clocks.clock("Sales") is clocks.clock("Web")
    # '{}' is hours with no open day (closed), not "use the site's".
    assert clocks.clock("Site").never_open
    assert len(clocks.distinct) == 3
    as_site = json.dumps({"Copy": json.loads(SITE_HOURS)})
    clocks = DepartmentClocks.from_settings({"office_hours": SITE_HOURS, SETTING: as_site})
    assert clocks.clock("Copy") is clocks.site and clocks.distinct == (clocks.site,)


# --- picking the clock ------------------------------------------------------------------------
def test_each_department_runs_on_its_own_hours() -> None:
    policy = SlaPolicy.from_settings(site_settings())
    friday = at(25, "16:59")
    # Sales works until 20:00: wall time; the rest keeps the site's 09:00-17:00.
    assert sla_delay_ms(policy, "sla_first_response_s", friday, "Sales") == 120 * S
    assert sla_delay_ms(policy, "sla_first_response_s", friday, SUPPORT) == (
        at(28, "09:01") - friday
    )
    assert sla_delay_ms(policy, "sla_first_response_s", friday) == at(28, "09:01") - friday
    # Where the department is not known (a message being stored), the earliest risk point.
    assert alarm_delay_ms(policy, "sla_first_response_s", friday) == 96 * S
    assert alarm_delay_ms(policy, "sla_first_response_s", friday, SUPPORT) == (
        at(28, "09:00") + 36 * S - friday
    )
    # Saturday: only Sales is open.
    saturday = at(26, "10:00")
    assert sla_delay_ms(policy, "sla_next_response_s", saturday, "Sales") == 300 * S
    assert sla_delay_ms(policy, "sla_next_response_s", saturday, "Nobody") == (
        at(28, "09:05") - saturday
    )


def test_without_department_hours_nothing_changes() -> None:
    policy = SlaPolicy.from_settings({"office_hours": SITE_HOURS})
    friday = at(25, "16:59")
    assert policy.clocks.distinct == (policy.business,)
    assert alarm_delay_ms(policy, "sla_first_response_s", friday) == alarm_delay_ms(
        policy, "sla_first_response_s", friday, "Sales"
    )


def test_the_timer_wakes_at_the_risk_point_then_at_the_deadline() -> None:
    policy = SlaPolicy.from_settings(site_settings())
    friday = at(25, "16:59")
    # Woken early (at Sales' risk point) for a chat of the site's hours: it waits on for its
    # own risk point, not for the deadline, so the escalation still comes.
    early = sla_progress(policy, "frt", friday, friday + 96 * S, SUPPORT)
    assert early.worked_ms == 60 * S
    assert early.wake == at(28, "09:00") + 36 * S and early.due == at(28, "09:01")
    risky = sla_progress(policy, "frt", friday, at(28, "09:00") + 36 * S, SUPPORT)
    assert risky.worked_ms == 96 * S and risky.wake == risky.due == at(28, "09:01")


# --- transfers ------------------------------------------------------------------------------
def changes(*entries: tuple[int, str]) -> str:
    return json.dumps([[str(t), d] for t, d in entries])


def test_a_transfer_changes_the_hours_from_then_on() -> None:
    clocks = SlaPolicy.from_settings(site_settings()).clocks
    # A Sales chat at Fri 19:59, transferred at 19:59:30 to a department on the site's
    # hours: 30 s count as Sales counted them, then the clock waits for Monday 09:00.
    start, moved = at(25, "19:59"), at(25, "19:59") + 30 * S
    log = changes((moved, "Sales"))
    assert segments(SUPPORT, log, start) == [(start, moved, "Sales"), (moved, None, SUPPORT)]
    assert clocks.elapsed(SUPPORT, log, start, at(26, "12:00")) == 30 * S
    assert clocks.deadline(SUPPORT, log, start, 120 * S) == at(28, "09:01") + 30 * S
    # Not retroactive: the same chat judged wholly on either department's hours differs.
    assert clocks.clock("Sales").elapsed(start, at(26, "12:00")) == 60 * S + 4 * 60 * MINUTE_MS
    assert clocks.clock(SUPPORT).elapsed(start, at(26, "12:00")) == 0
    # The other way: waiting all Saturday morning on the site's hours, moved to Sales at 11:00.
    start, moved = at(26, "10:00"), at(26, "11:00")
    log = changes((moved, SUPPORT))
    assert clocks.elapsed("Sales", log, start, at(26, "11:01")) == 60 * S
    assert clocks.deadline("Sales", log, start, 120 * S) == at(26, "11:02")
    # A deadline already passed before the last transfer is found where it passed.
    log = changes((at(25, "10:00"), "Sales"), (at(25, "18:00"), SUPPORT))
    assert clocks.deadline("Sales", log, at(25, "09:00"), 120 * S) == at(25, "09:02")
    # A transfer before the clock began does not split it.
    assert segments("Sales", log, at(25, "19:00")) == [(at(25, "19:00"), None, "Sales")]


def test_the_changes_field_is_read_leniently() -> None:
    assert parse_changes(None) == [] and parse_changes("") == [] and parse_changes("{") == []
    assert parse_changes('[["5", "b"], ["x", "c"], ["3", "a"], 7]') == [(3, "a"), (5, "b")]


def test_the_dashboard_follows_each_chat_and_its_transfers() -> None:
    policy = SlaPolicy.from_settings(site_settings())
    start, moved, now = at(25, "19:59"), at(25, "19:59") + 30 * S, at(26, "12:00")
    conv = {"first_visitor_msg_at": str(start), "department": SUPPORT}
    moved_conv = {**conv, CHANGES_FIELD: changes((moved, "Sales"))}
    sales_conv = {**conv, "department": "Sales"}
    first = 120 * S
    assert sla_clock(conv, now, first, 0, policy.clocks)["elapsed_ms"] == 0
    assert sla_clock(moved_conv, now, first, 0, policy.clocks)["state"] == "ok"
    assert sla_clock(moved_conv, now, first, 0, policy.clocks)["elapsed_ms"] == 30 * S
    assert sla_clock(sales_conv, now, first, 0, policy.clocks)["state"] == "breached"
    # One clock for all (the site's) as before.
    assert sla_clock(sales_conv, now, first, 0, policy.business)["elapsed_ms"] == 0


# --- properties -----------------------------------------------------------------------------
DEPTS = ("Sales", SUPPORT, "Night")
NIGHT = {"tz": "Asia/Tehran", "days": {d: [["22:00", "02:00"]] for d in ("sat", "sun", "mon")}}
CLOCKS = DepartmentClocks.from_settings(
    {"office_hours": SITE_HOURS, SETTING: json.dumps({"Sales": SALES, "Night": NIGHT})}
)
T0 = at(21, "00:00")
HOUR = 60 * MINUTE_MS
moves = st.lists(
    st.tuples(st.integers(1, 14 * 24 * 4), st.sampled_from(DEPTS)), min_size=0, max_size=6
)


def _log(start: int, steps: list[tuple[int, str]]) -> tuple[str, str, list[tuple[int, str]]]:
    """A transfer log as the scripts keep it (time, department before), the current
    department, and the departments in force from each instant."""
    dept, t, entries, spans = "Sales", start, [], [(start, "Sales")]
    for quarter_hours, to in steps:
        t += quarter_hours * 15 * MINUTE_MS
        entries.append((t, dept))
        dept = to
        spans.append((t, to))
    return changes(*entries), dept, spans


@settings(max_examples=60, deadline=None)
@given(moves, st.integers(0, 21 * 24 * 4))
def test_elapsed_is_the_sum_of_each_stretch_under_its_department(
    steps: list[tuple[int, str]], end_quarters: int
) -> None:
    log, dept, spans = _log(T0, steps)
    now = T0 + end_quarters * 15 * MINUTE_MS
    expected = 0
    for i, (a, d) in enumerate(spans):
        b = spans[i + 1][0] if i + 1 < len(spans) else now
        expected += CLOCKS.clock(d).elapsed(a, min(b, now))
    assert CLOCKS.elapsed(dept, log, T0, now) == expected


@settings(max_examples=60, deadline=None)
@given(moves, st.integers(1, 40 * 60))
def test_the_deadline_is_when_the_clock_reaches_the_target(
    steps: list[tuple[int, str]], target_s: int
) -> None:
    log, dept, _ = _log(T0, steps)
    due = CLOCKS.deadline(dept, log, T0, target_s * S)
    assert due is not None  # every department opens within a week
    assert CLOCKS.elapsed(dept, log, T0, due) == target_s * S
    assert CLOCKS.elapsed(dept, log, T0, due - 1) < target_s * S
    # And the clock only moves forward.
    assert CLOCKS.elapsed(dept, log, T0, due + HOUR) >= target_s * S


@settings(max_examples=40, deadline=None)
@given(moves, st.integers(0, 14 * 24))
def test_the_earliest_alarm_is_never_later_than_any_departments(
    steps: list[tuple[int, str]], hours_in: int
) -> None:
    start = T0 + hours_in * HOUR
    policy = SlaPolicy.from_settings(
        {"office_hours": SITE_HOURS, SETTING: json.dumps({"Sales": SALES, "Night": NIGHT})}
    )
    earliest = alarm_delay_ms(policy, "sla_first_response_s", start)
    for d in DEPTS:
        assert 0 < earliest <= alarm_delay_ms(policy, "sla_first_response_s", start, d)


# --- the admin form -------------------------------------------------------------------------
BASE_FORM = {
    "name": "Shop",
    "allowed_origins": "*",
    "departments": f"Sales, {SUPPORT}",
    "tz": "Europe/Berlin",
    **{f"hours_{d}": "09:00-17:00" for d in WEEKDAYS},
    **{
        name: "0"
        for name in (
            "agent_grace_s",
            "assign_timeout_s",
            "sla_first_response_s",
            "sla_next_response_s",
            "sla_breach_reassign_s",
            "nudge_after_s",
            "park_after_s",
            "queue_timeout_s",
            "follow_up_after_s",
            "visitor_grace_s",
            "abandon_after_s",
            "keep_place_s",
            "reopen_window_s",
        )
    },
}


def test_the_form_stores_own_hours_and_drops_the_rest() -> None:
    form = {
        **BASE_FORM,
        "dh0_name": "Sales",
        "dh0_mode": "own",
        "dh0_tz": "Europe/Berlin",
        **{f"dh0_{d}": "08:00-20:00" for d in LONG},
        "dh1_name": SUPPORT,
        "dh1_mode": "site",
        "dh1_mon": "10:00-11:00",  # typed but not chosen: ignored
        "dh2_name": "Gone",  # a department no longer listed
        "dh2_mode": "own",
        "dh2_mon": "09:00-10:00",
    }
    out, errors = site_fields(form)
    assert errors == []
    assert json.loads(out[SETTING]) == {"Sales": SALES}
    rows = department_hours_rows(["Sales", SUPPORT], out[SETTING])
    assert [(r["name"], r["own"]) for r in rows] == [("Sales", True), (SUPPORT, False)]
    assert rows[0]["hours"] == {
        "tz": "Europe/Berlin",
        "sun": "",
        **dict.fromkeys(LONG, "08:00-20:00"),
    }
    # Nobody with hours of their own: the setting is empty.
    assert department_hours_json({"dh0_name": "Sales", "dh0_mode": "site"}, ["Sales"]) == ("", [])


def test_the_form_reports_typos_per_department() -> None:
    form = {"dh0_name": SUPPORT, "dh0_mode": "own", "dh0_tz": "Asia/Tehran", "dh0_sat": "9-5"}
    value, errors = department_hours_json(form, [SUPPORT])
    assert value == "" and errors == [f"{SUPPORT}: Sat: write hours like 09:00-17:00, not '9-5'."]
    _, errors = department_hours_json({**form, "dh0_sat": "", "dh0_tz": "Mars/Base"}, [SUPPORT])
    assert errors == [f"{SUPPORT}: give its hours at least one day, or use the site's hours."]
    _, errors = department_hours_json(
        {**form, "dh0_sat": "09:00-17:00", "dh0_tz": "Mars/B"}, [SUPPORT]
    )
    assert errors == [f"{SUPPORT}: Office hours: unknown time zone 'Mars/B'."]
    # After a refused save the page shows what was typed.
    rows = department_hours_rows([SUPPORT], "", {**form})
    assert rows == [
        {
            "name": SUPPORT,
            "own": True,
            "hours": {
                "tz": "Asia/Tehran",
                "mon": "",
                "tue": "",
                "wed": "",
                "thu": "",
                "fri": "",
                "sat": "9-5",
                "sun": "",
            },
        }
    ]


def test_the_scripts_keep_the_field_the_clocks_read() -> None:
    lua = resources.files("chatserver.lua")
    for name in ("_lib.lua", "timer.lua"):
        assert f"'{CHANGES_FIELD}'" in lua.joinpath(name).read_text(encoding="utf-8")
    for name in ("transfer_department.lua", "take_over.lua"):
        assert "change_department(" in lua.joinpath(name).read_text(encoding="utf-8")
