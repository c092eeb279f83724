"""What the agent is shown of a visitor's current visit, read from what the scripts stored
(chatserver/core/visits.py): no Redis here."""

from __future__ import annotations

import json

from chatserver.core.visits import (
    PAGES_KEPT,
    VISIT_GAP_MS,
    online_now,
    page_entry,
    parse_pages,
    visitor_context,
)

NOW = 1_767_225_600_000


def test_the_gap_and_the_cap_are_the_documented_ones() -> None:
    assert VISIT_GAP_MS == 30 * 60 * 1000
    assert PAGES_KEPT == 25


def test_an_entry_round_trips_with_persian_and_an_exact_time() -> None:
    raw = page_entry("https://shop.test/کفش?x=1", "کفش ورزشی", NOW + 1)
    assert json.loads(raw) == {
        "url": "https://shop.test/کفش?x=1",
        "title": "کفش ورزشی",
        "ts": NOW + 1,
    }
    assert parse_pages([raw]) == [
        {"url": "https://shop.test/کفش?x=1", "title": "کفش ورزشی", "ts": NOW + 1}
    ]


def test_entries_that_are_not_pages_are_skipped_not_fatal() -> None:
    good = page_entry("https://shop.test/", "", NOW)
    junk = [
        "",
        "not json",
        "[1, 2]",
        '{"url": 5, "ts": 1}',
        '{"url": "x"}',
        '{"url": "x", "ts": "1"}',
    ]
    assert parse_pages([*junk, good]) == [{"url": "https://shop.test/", "title": "", "ts": NOW}]
    # A missing title is an empty one.
    assert parse_pages(['{"url": "u", "ts": 3}']) == [{"url": "u", "title": "", "ts": 3}]


def test_online_means_some_node_holds_a_socket_until_later() -> None:
    assert online_now({"n_1": str(NOW + 1)}, NOW)
    assert not online_now({"n_1": str(NOW)}, NOW)  # expired at this very ms
    assert not online_now({}, NOW)
    # 'left' is a time passed, not a node; a broken value is no node either.
    assert not online_now({"left": str(NOW + 10_000)}, NOW)
    assert online_now({"left": str(NOW - 5), "n_2": "x", "n_3": str(NOW + 9)}, NOW)


def test_the_context_says_when_they_left() -> None:
    pages = [
        page_entry("https://shop.test/b", "B", NOW - 10),
        page_entry("https://shop.test/a", "A", NOW - 20),
    ]
    here = visitor_context(pages, {"n_1": str(NOW + 30_000)}, {"last_active": str(NOW - 10)}, NOW)
    assert here == {
        "online": True,
        "left_at": None,
        "pages": [
            {"url": "https://shop.test/b", "title": "B", "ts": NOW - 10},
            {"url": "https://shop.test/a", "title": "A", "ts": NOW - 20},
        ],
    }
    gone = visitor_context(
        pages, {}, {"last_active": str(NOW - 5), "last_seen": str(NOW - 99)}, NOW
    )
    assert gone["online"] is False and gone["left_at"] == NOW - 5
    # A record from before activity was kept: its last hello stands in.
    assert visitor_context([], {}, {"last_seen": str(NOW - 99)}, NOW)["left_at"] == NOW - 99
    assert visitor_context([], {}, {}, NOW) == {"online": False, "left_at": None, "pages": []}
