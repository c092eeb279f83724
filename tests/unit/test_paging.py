"""Paged walks (chatserver/core/paging.py) and the streamed "now" panel
(chatserver/core/now_stream.py), without Redis."""

from __future__ import annotations

import random

from chatserver.core.now_figures import now_figures
from chatserver.core.now_stream import FOLD_FIELDS, SHOWN_FIELDS, NowAccumulator
from chatserver.core.paging import (
    LOADS,
    OPEN,
    QUEUES,
    Budget,
    Cursor,
    Entry,
    SweepPass,
    VersionedCache,
    after,
    first_read,
    last_cursor,
    next_read,
)


def zrange(data: list[Entry], min_score: float | None, offset: int, count: int) -> list[Entry]:
    """ZRANGE key min +inf BYSCORE LIMIT offset count WITHSCORES, as Redis orders a set."""
    ordered = sorted(data, key=lambda e: (e[1], e[0]))
    kept = [e for e in ordered if min_score is None or e[1] >= min_score]
    return kept[offset : offset + count]


def walk(data: list[Entry], page: int, change: bool = False) -> list[str]:
    """Every member a cursor walk meets; with ``change``, members come and go meanwhile."""
    seen: list[str] = []
    cursor: Cursor | None = None
    rng = random.Random(7)
    while True:
        read = first_read(cursor, page)
        while True:
            got = zrange(data, read.min_score, read.offset, read.count)
            again = next_read(read, got, cursor, page)
            if again is None:
                entries = after(got, cursor)[:page]
                break
            read = again
        seen += [m for m, _ in entries]
        if change and data:
            data.remove(rng.choice(data))  # removals anywhere, before the cursor too
            data.append((f"new{len(seen)}", 10**9 + len(seen)))  # new ones at the end
        if len(entries) < page:
            return seen
        cursor = last_cursor(entries)


def test_a_walk_meets_every_member_once_whatever_the_page() -> None:
    data = [(f"c{i:05d}", float(i // 3)) for i in range(1000)]  # ties of three
    for page in (1, 2, 3, 7, 100, 1000, 5000):
        assert walk(list(data), page) == [m for m, _ in data]


def test_ties_longer_than_a_page_are_read_past() -> None:
    data = [(f"c{i:04d}", 5.0) for i in range(50)] + [("z", 6.0)]
    assert walk(list(data), 4) == [m for m, _ in data]


def test_members_that_stay_are_met_though_others_come_and_go() -> None:
    data = [(f"c{i:05d}", float(i)) for i in range(2000)]
    stay = {m for m, _ in data[::2]}
    moving = list(data)
    # the ones removed in the walk are odd-numbered only when chosen; re-run until none of
    # ``stay`` is removed, so each of them is there throughout
    rng = random.Random(3)
    seen: list[str] = []
    cursor: Cursor | None = None
    while True:
        read = first_read(cursor, 10)
        got = zrange(moving, read.min_score, read.offset, read.count)
        assert next_read(read, got, cursor, 10) is None
        entries = after(got, cursor)[:10]
        seen += [m for m, _ in entries]
        odd = [e for e in moving if e[0] not in stay]
        if odd:
            moving.remove(rng.choice(odd))
        if len(entries) < 10:
            break
        cursor = last_cursor(entries)
    assert stay <= set(seen)
    assert len(seen) == len(set(seen))


def test_a_pass_goes_through_the_phases_by_name() -> None:
    p = SweepPass()
    p.begin_tick(100)
    assert p.phase == OPEN and p.started_at == 100
    p.cursor = (1.0, "c1")
    p.next_phase()
    assert p.phase == QUEUES and p.cursor is None
    names = ["", "sales"]
    assert p.current(names) == ""
    assert p.next_item(names) and p.item == "sales"
    # a department added before the one walked does not shift the walk
    assert not p.next_item(["", "a", "sales"])
    p.next_phase()
    assert p.phase == LOADS and p.current([]) is None
    p.begin_tick(200)
    p.finish(250)
    assert (p.passes, p.last_pass_ms, p.last_pass_ticks) == (1, 150, 2)
    assert p.phase == OPEN and p.ticks == 0
    p.begin_tick(300)
    assert p.started_at == 300


def test_budget_ticks() -> None:
    b = Budget(page=1000, pages=10)
    assert b.entries == 10_000
    assert b.ticks_for(0) == 1 and b.ticks_for(10_000) == 1 and b.ticks_for(100_001) == 11


def test_versioned_cache() -> None:
    c = VersionedCache(check_ms=1000, max_age_ms=30_000)
    assert not c.fresh(0)
    assert c.load(["b", "a"], "1:2", 0) == ("a", "b")
    assert c.fresh(999) and not c.fresh(1000)
    assert c.still_valid("1:2", 1000) and c.fresh(1500)  # checked: fresh for another second
    assert not c.still_valid("2:3", 2000)  # a site was added
    c.load(["a", "b", "c"], "2:3", 2000)
    assert not c.still_valid("2:3", 32_000)  # too old: read again anyway
    c.invalidate()
    assert not c.fresh(32_001)


STATUSES = ["queued", "assigned", "waiting_on_agent", "waiting_on_visitor"]


def random_conv(rng: random.Random, i: int, now: int) -> dict[str, str]:
    status = rng.choice(STATUSES)
    conv = {
        "id": f"c{i:05d}",
        "status": status,
        "department": rng.choice(["", "sales", "billing"]),
        "visitor_name": f"v{i}",
        "queued_at": str(now - rng.randrange(0, 600_000)),
    }
    if status != "queued":
        conv["agent"] = rng.choice(["a1", "a2", "a3"])
    if rng.random() < 0.8:
        conv["first_visitor_msg_at"] = str(now - rng.randrange(0, 400_000))
        if rng.random() < 0.5:
            conv["first_agent_reply_at"] = str(now - rng.randrange(0, 100_000))
            if rng.random() < 0.6:
                conv["unanswered_since"] = str(now - rng.randrange(0, 400_000))
    if rng.random() < 0.05:
        conv["unanswered_since"] = str(now)  # a wait of 0 sorts as no wait
    if rng.random() < 0.3:
        conv["last_agent_msg_at"] = str(now - rng.randrange(0, 300_000))
    return conv


def test_the_stream_gives_what_now_figures_gives() -> None:
    rng = random.Random(11)
    now = 1_800_000_000_000
    convs = [random_conv(rng, i, now) for i in range(700)]
    unowned = {c["id"] for c in convs if rng.random() < 0.02}
    agents = [
        {
            "id": "a1",
            "name": "A",
            "status": "online",
            "load": 2,
            "capacity": 3,
            "departments": ["sales"],
        },
        {"id": "a2", "name": "B", "status": "away", "load": 1, "capacity": 2, "departments": []},
        {"id": "a3", "name": "C", "status": "online", "load": 0, "capacity": 4, "departments": []},
    ]
    acc = NowAccumulator(now, 60_000, 120_000)
    for c in convs:
        acc.add(c, c["id"] in unowned)
    queued = [c for c in convs if c["status"] == "queued"]
    for dept in (None, "", "sales", "billing", "nobody"):
        want = now_figures(
            queued, agents, convs, now, 60_000, 120_000, dept, 200.0, sorted(unowned)
        )
        assert acc.figures(agents, dept, 200.0) == want, dept
    assert acc.open_count == 700
    assert acc.departments() == ["", "billing", "sales"]


def test_rows_read_slim_then_shown_give_the_same() -> None:
    rng = random.Random(5)
    now = 1_800_000_000_000
    convs = [random_conv(rng, i, now) for i in range(400)]
    for c in convs[::3]:
        c["agent_name"] = "Agent " + c.get("agent", "")
        c["last_agent_msg_at"] = str(now - 5_000)
    whole = NowAccumulator(now, 60_000, 120_000)
    slim = NowAccumulator(now, 60_000, 120_000)
    for c in convs:
        whole.add(c)
        slim.add({f: v for f, v in c.items() if f in FOLD_FIELDS})
    by_id = {c["id"]: c for c in convs}
    slim.display = {
        cid: {f: by_id[cid].get(f, "") for f in SHOWN_FIELDS} for cid in slim.kept_ids()
    }
    for dept in (None, "sales"):
        assert slim.figures([], dept) == whole.figures([], dept)
