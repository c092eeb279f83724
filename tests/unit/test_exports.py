"""The CSV exports' rows, without Redis: cells neutralised, times in ISO 8601 UTC, the
filters (an agent held to their own chats), the days of a range across a clock change."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from chatserver.core import exports as x
from chatserver.core.window_figures import window_figures


def test_a_conversation_row() -> None:
    conv = {
        "id": "c_1",
        "status": "resolved",
        "created_at": "1709622000000",
        "ended_at": "1709622090000",
        "resolved_at": "1709622090000",
        "visitor_name": "=SUM(A1)",
        "agent_name": "سارا",
        "first_response_ms": "12400",
        "wait_ms": "3000",
        "rating": "5",
        "responses": "2",
    }
    row = dict(zip(x.CONVERSATION_HEADER, x.conversation_row(conv, "@me@x.test", 7), strict=True))
    assert row["created_at"] == "2024-03-05T07:00:00Z"
    assert row["ended_at"] == "2024-03-05T07:01:30Z"
    assert row["visitor_name"] == "'=SUM(A1)" and row["visitor_email"] == "'@me@x.test"
    assert row["agent_name"] == "سارا"
    assert (row["wait_s"], row["first_response_s"], row["resolution_s"]) == ("3", "12", "90")
    assert (row["messages"], row["agent_replies"], row["rating"]) == ("7", "2", "5")
    open_conv = x.conversation_row({"id": "c_2", "status": "queued"}, "", 0)
    assert open_conv[2] == "" and open_conv[12] == "" and open_conv[15] == "0"
    assert open_conv[-1] == ""  # no labels
    labelled = x.conversation_row({"id": "c_3"}, "", 0, ["=VIP", "پرداخت"])
    assert labelled[x.CONVERSATION_HEADER.index("labels")] == "'=VIP; پرداخت"  # neutralised


def test_cells_that_start_a_formula_are_text() -> None:
    for text in ("=1+1", "+1", "-1", "@x", "\tx"):
        assert x.conversation_row({"visitor_name": text}, "", 0)[8] == "'" + text
    assert x.cut_row("cut")[0] == "# cut"
    parsed = list(csv.reader(io.StringIO(x.encode([["a,b", 'say "hi"', "خط\nدوم"]]))))
    assert parsed == [["a,b", 'say "hi"', "خط\nدوم"]]


def test_the_filter() -> None:
    conv = {
        "agent": "a_1",
        "agent_name": "Sara Karimi",
        "status": "resolved",
        "department": "Sales",
    }
    assert x.ConversationFilter().keeps(conv)
    assert x.ConversationFilter(agent="KARIMI").keeps(conv)
    assert x.ConversationFilter(agent="a_1").keeps(conv)
    assert not x.ConversationFilter(agent="reza").keeps(conv)
    assert not x.ConversationFilter(status="missed").keeps(conv)
    assert not x.ConversationFilter(department="Billing").keeps(conv)
    assert x.ConversationFilter(only_agent="a_1").keeps(conv)
    # An agent's own export: a name filter cannot widen it.
    assert not x.ConversationFilter(agent="a_1", only_agent="a_2").keeps(conv)
    persian = {"agent_name": "علی یگانه"}
    assert x.ConversationFilter(agent="يگانه").keeps(persian)  # Arabic yeh typed


def test_a_day_row_and_an_empty_one() -> None:
    row = dict(zip(x.DAY_HEADER, x.day_row("2024-03-05", window_figures([])), strict=True))
    assert row["date"] == "2024-03-05" and row["started"] == "0"
    assert row["wait_median_s"] == "" and row["csat_percent"] == ""


def test_the_days_of_a_range() -> None:
    tehran = ZoneInfo("Asia/Tehran")
    days = x.days_of(1709584200000, 1709584200000 + 2 * 86_400_000, tehran)
    assert [d for d, _, _ in days] == ["2024-03-05", "2024-03-06"]
    # New York moves its clocks on 2024-03-10: that day is 23 hours long.
    ny = ZoneInfo("America/New_York")
    start = 1709960400000  # 2024-03-09 00:00 EST
    days = x.days_of(start, start + 3 * 86_400_000, ny)
    assert [d for d, _, _ in days][:2] == ["2024-03-09", "2024-03-10"]
    assert days[1][2] - days[1][1] == 23 * 3_600_000
