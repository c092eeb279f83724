"""The dashboard's figures (chatserver/core/metrics*.py), without Redis: values by hand."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from chatserver.core import window_figures as m
from chatserver.core.now_figures import AT_RISK, now_figures, sla_clock

T0 = 1_709_625_600_000  # 2024-03-05 08:00:00 UTC
MIN = 60_000


def rec(kind: str, ms: int, ts: int, agent: str = "", dept: str = "", conv: str = "c") -> m.Record:
    return m.Record(kind, conv, agent, dept, ms, ts)


def test_median_and_nearest_rank_p90() -> None:
    assert m.median([]) is None and m.percentile([], 90) is None
    assert m.median([5, 1, 3]) == 3
    assert m.median([1, 2, 3, 4]) == 2.5
    assert m.median([10, 20]) == 15
    # p90 of 1..10 is the 9th smallest; of 1..11 the ceil(9.9) = 10th.
    assert m.percentile(list(range(1, 11)), 90) == 9
    assert m.percentile(list(range(1, 12)), 90) == 10
    assert m.percentile([7], 90) == 7


def test_window_figures_count_and_summarise() -> None:
    records = [
        rec("started", 0, T0),
        rec("started", 0, T0 + 1),
        rec("wait", 4000, T0 + 2),
        rec("wait", 8000, T0 + 3),
        rec("first_response", 30_000, T0 + 4),
        rec("resolution", 600_000, T0 + 5),
        rec("missed", 100, T0 + 6),
        rec("rating", 5, T0 + 7),
        rec("rating", 3, T0 + 8),
        rec("sla_first_breach", 61_000, T0 + 9),
    ]
    f = m.window_figures(records)
    assert (f["started"], f["missed"], f["abandoned"], f["resolved"]) == (2, 1, 0, 1)
    assert (f["sla_first_breaches"], f["sla_next_breaches"]) == (1, 0)
    assert f["wait"] == {"count": 2, "median": 6000, "p90": 8000}
    assert f["response"] == {"count": 0, "median": None, "p90": None}
    assert f["satisfaction"] == {"count": 2, "average": 4.0, "csat": 50.0}


def test_in_window_is_half_open_and_filters_departments() -> None:
    records = [rec("started", 0, T0, dept="sales"), rec("started", 0, T0 + 10, dept="")]
    assert len(m.in_window(records, T0, T0 + 10)) == 1
    assert len(m.in_window(records, T0, T0 + 11, "sales")) == 1
    assert len(m.in_window(records, T0, T0 + 11)) == 2


def test_agent_report_clips_online_time_to_the_window() -> None:
    start, end = T0, T0 + 60 * MIN
    records = [
        # online from T0-10 min to T0+20 min: 20 minutes inside
        rec("online", 30 * MIN, T0 + 20 * MIN, agent="a1"),
        rec("away", 5 * MIN, T0 + 25 * MIN, agent="a1"),  # away does not count
        rec("wait", 1000, T0 + 1, agent="a1", conv="c1"),
        rec("first_response", 20_000, T0 + 2, agent="a1", conv="c1"),
        rec("response", 20_000, T0 + 2, agent="a1", conv="c1"),
        rec("response", 40_000, T0 + 3, agent="a1", conv="c1"),
        rec("resolution", 90_000, T0 + 4, agent="a1", conv="c2"),
        rec("rating", 4, T0 + 5, agent="a1", conv="c1"),
        rec("wait", 1000, T0 + 1, agent="a2", conv="c3"),
    ]
    agents = [
        # back online at T0+25 min and still online at the end: 35 more minutes
        {"id": "a1", "name": "Sara", "status": "online", "status_since": T0 + 25 * MIN},
        {"id": "a2", "name": "Omid", "status": "offline", "status_since": T0},
    ]
    sara, omid = m.agent_report(records, agents, start, end)
    assert sara["online_ms"] == 55 * MIN
    assert sara["chats_handled"] == 2
    assert sara["first_response"] == {"count": 1, "median": 20_000, "p90": 20_000}
    assert sara["response"] == {"count": 2, "median": 30_000, "p90": 40_000}
    assert sara["resolution"]["median"] == 90_000
    assert sara["satisfaction"]["average"] == 4.0
    assert omid["online_ms"] == 0 and omid["chats_handled"] == 1


def test_day_start_in_a_half_hour_time_zone() -> None:
    tehran = ZoneInfo("Asia/Tehran")  # UTC+03:30
    # 2024-03-05 08:00 UTC is 11:30 in Tehran; its midnight is 2024-03-04 20:30 UTC.
    assert m.day_start(T0, tehran) == T0 - 11 * 60 * MIN - 30 * MIN
    start, end = m.day_bounds("2024-03-05", ZoneInfo("UTC"))
    assert (start, end) == (T0 - 8 * 60 * MIN, T0 + 16 * 60 * MIN)


def test_distribution_and_gauge_series() -> None:
    bars = m.distribution([15_000, 15_001, 59_000, 700_000], (15, 60))
    assert bars == [
        {"le": 15, "count": 1},
        {"le": 60, "count": 2},
        {"le": None, "count": 1},
    ]
    minute = m.minute_of(T0)
    gauges = {minute: {"queue|*": "2"}, minute + 3: {"queue|*": "5"}, minute + 5: {"queue|*": "1"}}
    series = m.gauge_series(gauges, "queue|*", minute, minute + 9, 5)
    assert [p["value"] for p in series] == [5, 1]
    assert series[0]["t"] == minute * MIN


def test_histogram_increments_are_cumulative_buckets() -> None:
    inc = m.histogram_increments(
        [rec("wait", 4000, T0), rec("wait", 20_000, T0), rec("started", 0, T0)]
    )
    assert inc["wait|5"] == 1 and inc["wait|15"] == 1 and inc["wait|30"] == 2
    assert inc["wait|1800"] == 2 and inc["wait|count"] == 2 and inc["wait|sum"] == 24_000
    assert inc["events|started"] == 1


def test_records_round_trip_through_a_bucket() -> None:
    r = rec("wait", 4000, T0, agent="a_1", dept="ventas|x", conv="c_1")
    assert m.Record.decode(r.encode()) == r
    stream = {"k": "wait", "c": "c_1", "a": "a_1", "ms": "4000", "ts": str(T0), "d": "ventas|x"}
    assert m.Record.from_stream(stream) == r
    assert m.Record.from_stream({"k": "wait"}) is None


def test_sla_clock_first_then_next_response() -> None:
    first, nxt = 60_000, 120_000
    waiting_first = {"first_visitor_msg_at": str(T0)}
    assert sla_clock(waiting_first, T0 + 30_000, first, nxt)["state"] == "ok"
    assert sla_clock(waiting_first, T0 + int(AT_RISK * first), first, nxt)["state"] == "at_risk"
    assert sla_clock(waiting_first, T0 + first, first, nxt)["state"] == "breached"
    answered = {"first_visitor_msg_at": str(T0), "first_agent_reply_at": str(T0 + 1)}
    assert sla_clock(answered, T0 + 10**9, first, nxt)["state"] == "none"
    again = {**answered, "unanswered_since": str(T0 + 1000)}
    clock = sla_clock(again, T0 + 1000 + 100_000, first, nxt)
    assert clock == {
        "target": "next",
        "elapsed_ms": 100_000,
        "target_ms": nxt,
        "state": "at_risk",
    }
    assert sla_clock(waiting_first, T0 + 10**9, 0, nxt)["state"] == "none"  # target off


def test_now_figures_for_the_site_and_a_department() -> None:
    now = T0 + 10 * MIN
    queued = [
        {"id": "c1", "status": "queued", "department": "sales", "queued_at": str(now - 90_000)},
        {"id": "c2", "status": "queued", "department": "", "queued_at": str(now - 30_000)},
        {"id": "c3", "status": "queued", "department": "", "queued_at": str(now - 10_000)},
    ]
    handled = [
        {
            "id": "c4",
            "status": "waiting_on_agent",
            "department": "sales",
            "agent": "a1",
            "first_visitor_msg_at": str(now - 5 * MIN),
            "first_agent_reply_at": str(now - 4 * MIN),
            "last_agent_msg_at": str(now - 4 * MIN),
            "unanswered_since": str(now - 3 * MIN),
        }
    ]
    agents = [
        {
            "id": "a1",
            "name": "Sara",
            "status": "online",
            "load": 1,
            "capacity": 2,
            "departments": ["sales"],
        },
        {"id": "a2", "name": "Omid", "status": "away", "load": 0, "capacity": 3, "departments": []},
        {
            "id": "a3",
            "name": "Nima",
            "status": "offline",
            "load": 0,
            "capacity": 3,
            "departments": ["support"],
        },
    ]
    opened = [*queued, *handled]
    f = now_figures(queued, agents, opened, now, 60_000, 120_000, handle_seconds=300)
    assert f["queue"]["count"] == 3
    assert f["queue"]["longest_wait_ms"] == 90_000 and f["queue"]["median_wait_ms"] == 30_000
    assert f["queue"]["by_department"] == {"": 2, "sales": 1}
    # 4th in line, 1 free slot of 2 online: ceil(3 * 300 / 2) seconds
    assert f["queue"]["next_estimated_wait_s"] == 450
    assert (f["agents"]["online"], f["agents"]["away"], f["agents"]["offline"]) == (1, 1, 1)
    assert (f["agents"]["load"], f["agents"]["capacity"]) == (1, 5)
    assert f["in_progress"] == 1
    assert f["unresolved"]["count"] == 4
    top = f["unresolved"]["items"][0]
    assert top["id"] == "c4" and top["waiting_ms"] == 3 * MIN
    assert top["since_last_reply_ms"] == 4 * MIN
    assert f["sla"]["breached"] == 1 and f["sla"]["breached_items"][0]["id"] == "c4"
    sales = now_figures(queued, agents, opened, now, 60_000, 120_000, dept="sales")
    assert sales["queue"]["count"] == 1 and sales["in_progress"] == 1
    assert [a["id"] for a in sales["agents"]["list"]] == ["a1", "a2"]
    assert f["unowned"] == {"count": 0, "items": []}
    lost = now_figures(queued, agents, opened, now, 60_000, 120_000, unowned=["c2", "c4"])
    assert lost["unowned"] == {"count": 2, "items": ["c2", "c4"]}
    sales = now_figures(queued, agents, opened, now, 60_000, 120_000, "sales", unowned=["c2"])
    assert sales["unowned"]["count"] == 0  # c2 is not a sales chat
