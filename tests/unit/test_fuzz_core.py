"""Property-based fuzz of the sans-I/O core: the state machine, routing, wait estimates, the
token bucket, office hours, the site policy and the abuse limits' lease rule. Each property is
one the server relies on; any input the types allow must keep it (or fail in the documented
way)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatserver.core.estimate import IMMEDIATE_SECONDS, HandleTimeEstimator, estimate_wait
from chatserver.core.hours import is_open, next_opening, parse_office_hours
from chatserver.core.leases import lease_wait
from chatserver.core.policy import SitePolicy
from chatserver.core.ratelimit import TokenBucket
from chatserver.core.routing import AgentSnapshot, free_capacity, queue_score, rank_candidates
from chatserver.core.states import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Event,
    IllegalTransition,
    Status,
    legal_events,
    transition,
)
from chatserver.core.states import (
    is_open as status_open,
)

FUZZ = settings(max_examples=300, deadline=None)
NOW = 1_732_390_000_000  # a fixed "now" in ms (2024)

# --- states ---------------------------------------------------------------------------------


@FUZZ
@given(st.sampled_from(list(Status)), st.lists(st.sampled_from(list(Event)), max_size=30))
def test_any_event_sequence_keeps_one_known_state(start: Status, events: list[Event]) -> None:
    status = start
    for event in events:
        before = status
        try:
            status = transition(status, event)
        except IllegalTransition as exc:
            assert event not in legal_events(before) and exc.status == before
            continue
        assert event in legal_events(before)
        assert status in Status
        # Only a reopen brings an ended conversation back; nothing else leaves the closed set.
        if before in CLOSED_STATUSES and status in OPEN_STATUSES:
            assert event in (Event.REOPEN, Event.AGENT_REOPEN)
        # A conversation leaves the open set only by an explicit ending.
        if status_open(before) and not status_open(status):
            assert event in (Event.RESOLVE, Event.VISITOR_LEFT, Event.ABANDON)


# --- routing --------------------------------------------------------------------------------

agents = st.builds(
    AgentSnapshot,
    agent_id=st.text("abc123", min_size=1, max_size=4).map(lambda s: "a_" + s),
    status=st.sampled_from(["online", "away", "offline", "weird"]),
    capacity=st.integers(-2, 10),
    load=st.integers(-2, 12),
    last_assigned_at=st.integers(0, 2**45),
    present=st.booleans(),
    departments=st.frozensets(st.sampled_from(["", "Sales", "Billing"]), max_size=2),
)


@FUZZ
@given(
    st.lists(agents, max_size=12, unique_by=lambda a: a.agent_id),
    st.sampled_from(["", "Sales", "Billing", "Nope"]),
)
def test_ranking_only_offers_agents_who_can_take_the_chat(
    snapshot: list[AgentSnapshot], department: str
) -> None:
    ranked = rank_candidates(snapshot, department)
    by_id = {a.agent_id: a for a in snapshot}
    assert len(set(ranked)) == len(ranked)
    assert set(ranked) == {a.agent_id for a in snapshot if a.available and a.serves(department)}
    loads = [by_id[i].load for i in ranked]
    assert loads == sorted(loads)
    # The snapshot's order does not matter: the ranking is deterministic.
    assert rank_candidates(list(reversed(snapshot)), department) == ranked
    assert free_capacity(snapshot) >= 0


@FUZZ
@given(st.integers(0, 99), st.integers(0, 99), st.integers(0, 2**43 - 1), st.integers(0, 2**43 - 1))
def test_queue_order_is_priority_then_arrival(p1: int, p2: int, t1: int, t2: int) -> None:
    if p1 == p2:
        assert (queue_score(p1, t1) < queue_score(p2, t2)) == (t1 < t2)
    else:
        assert (queue_score(p1, t1) < queue_score(p2, t2)) == (p1 > p2)


# --- estimate -------------------------------------------------------------------------------


@FUZZ
@given(
    st.integers(-3, 500),
    st.integers(-5, 50),
    st.integers(-5, 100),
    st.integers(-2, 20),
    st.floats(min_value=0.001, max_value=1e6),
)
def test_wait_estimate_is_none_or_grows_with_position(
    position: int, free: int, capacity: int, online: int, handle: float
) -> None:
    if position < 1:
        with pytest.raises(ValueError):
            estimate_wait(position, free, capacity, online, handle)
        return
    est = estimate_wait(position, free, capacity, online, handle)
    if online <= 0 or capacity <= 0:
        assert est is None
        return
    assert est is not None and est >= IMMEDIATE_SECONDS
    later = estimate_wait(position + 1, free, capacity, online, handle)
    assert later is not None and later >= est


@FUZZ
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), max_size=50))
def test_handle_time_mean_stays_within_the_samples(samples: list[float]) -> None:
    est = HandleTimeEstimator()
    est.add(0)
    for s in samples:
        est.add(s)
    positive = [s for s in samples if s > 0]
    if positive:
        assert min(positive) - 1e-6 <= est.mean <= max(positive) + 1e-6
    assert est.samples == len(positive)


# --- token bucket ---------------------------------------------------------------------------


@FUZZ
@given(
    st.floats(min_value=0.1, max_value=1000),
    st.integers(1, 200),
    st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=200),
)
def test_bucket_never_admits_more_than_burst_plus_refill(
    rate: float, burst: int, gaps: list[float]
) -> None:
    bucket = TokenBucket(rate, burst)
    now, admitted = 0.0, 0
    for gap in gaps:
        now += gap
        wait = bucket.take(now)
        assert wait >= 0
        if wait == 0:
            admitted += 1
        else:
            # Told to wait: after that wait it is admitted.
            probe = TokenBucket(rate, burst, bucket.tokens, bucket.updated)
            assert probe.take(now + wait + 1e-9) == 0
    assert admitted <= burst + rate * now + 1e-6


# --- office hours ---------------------------------------------------------------------------

times = st.from_regex(r"\A([01]\d|2[0-4]):[0-5]\d\Z") | st.text(max_size=6)
hours_json = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda tz, days: json.dumps({"tz": tz, "days": days}),
        st.sampled_from(["UTC", "Asia/Tehran", "America/New_York", "Nowhere/City", "", "../x"]),
        st.dictionaries(
            st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun", "xyz"]),
            st.lists(st.lists(times, min_size=0, max_size=3), max_size=3),
            max_size=7,
        ),
    ),
)


@FUZZ
@given(hours_json, st.integers(0, 4_102_444_800_000))
def test_office_hours_never_fail_the_widget(setting: str, now: int) -> None:
    # A malformed setting is shown to the admin (ValueError); the widget treats it as open.
    with contextlib.suppress(ValueError):
        parse_office_hours(setting)
    open_now = is_open(setting, now)
    nxt = next_opening(setting, now)
    if open_now:
        assert nxt is None
    elif nxt is not None:
        assert nxt > now and is_open(setting, nxt)


# --- policy ---------------------------------------------------------------------------------


@FUZZ
@given(st.dictionaries(st.sampled_from([*SitePolicy.labels(), "other"]), st.text(max_size=12)))
def test_policy_from_any_settings_is_whole_non_negative_seconds(raw: dict[str, Any]) -> None:
    policy = SitePolicy.from_settings(raw)
    for name in SitePolicy.labels():
        value = getattr(policy, name)
        assert isinstance(value, int) and value >= 0
        assert policy.ms(name) == value * 1000


# --- leases (abuse limits) ------------------------------------------------------------------


@FUZZ
@given(
    st.integers(1, 20),
    st.integers(1, 120_000),
    st.lists(st.integers(0, 5_000), min_size=1, max_size=120),
)
def test_a_rate_limit_admits_at_most_limit_per_window(
    limit: int, window: int, gaps: list[int]
) -> None:
    """Taking a lease of ``window`` ms per admitted event is an exact sliding window."""
    leases: list[int] = []
    admitted: list[int] = []
    now = NOW
    for gap in gaps:
        now += gap
        wait = lease_wait(leases, now, limit)
        if wait == 0:
            leases.append(now + window)
            admitted.append(now)
        else:
            assert wait > 0 and lease_wait(leases, now + wait, limit) == 0
            assert wait == 1 or lease_wait(leases, now + wait - 1, limit) > 0
    for t in admitted:
        assert sum(1 for u in admitted if t <= u < t + window) <= limit


@FUZZ
@given(st.lists(st.integers(NOW - 1000, NOW + 1000), max_size=30), st.integers(-3, 30))
def test_lease_wait_counts_only_live_leases(expiries: list[int], limit: int) -> None:
    if limit < 1:
        with pytest.raises(ValueError):
            lease_wait(expiries, NOW, limit)
        return
    live = sum(1 for e in expiries if e > NOW)
    assert (lease_wait(expiries, NOW, limit) == 0) == (live < limit)
