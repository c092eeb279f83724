from __future__ import annotations

import pytest

from chatserver.core.estimate import (
    IMMEDIATE_SECONDS,
    EstimateAccuracy,
    HandleTimeEstimator,
    estimate_wait,
    should_notify,
)


def test_nobody_online_means_unknown() -> None:
    assert estimate_wait(1, 0, 0, 0) is None


def test_free_slot_means_now() -> None:
    assert estimate_wait(2, free_slots=2, total_capacity=6, agents_online=2) == IMMEDIATE_SECONDS
    assert IMMEDIATE_SECONDS == 0  # no constant in any estimate (it was 5 s, worst at the head)


def test_wait_grows_with_position_and_shrinks_with_capacity() -> None:
    # 3 places past the free slots, chats of 300 s, 6 slots: 3 * 300 / 6 = 150 s.
    assert estimate_wait(3, 0, 6, 2, 300) == IMMEDIATE_SECONDS + 150
    assert estimate_wait(6, 0, 6, 2, 300) == IMMEDIATE_SECONDS + 300
    assert estimate_wait(6, 0, 12, 4, 300) == IMMEDIATE_SECONDS + 150


def test_position_is_one_based() -> None:
    with pytest.raises(ValueError):
        estimate_wait(0, 0, 1, 1)


def test_handle_time_is_the_mean_of_the_last_chats() -> None:
    est = HandleTimeEstimator(window=4)
    assert est.mean == 300  # nothing learned yet
    est.add(100)
    assert est.mean == 100
    for seconds in (200, 300, 400):
        est.add(seconds)
    assert est.mean == 250
    est.add(500)  # the oldest (100) leaves the window
    assert est.mean == 350
    est.add(-5)  # nonsense samples are ignored
    assert est.samples == 5


def test_should_notify_debounces_small_drifts() -> None:
    assert should_notify(None, (1, 30))
    assert should_notify((2, 30), (1, 30))
    assert not should_notify((1, 30), (1, 40))
    assert should_notify((1, 30), (1, 60))
    assert should_notify((1, None), (1, 30))
    assert not should_notify((1, None), (1, None))


def test_estimate_accuracy_reports_absolute_error_and_bias() -> None:
    acc = EstimateAccuracy(window=4)
    assert acc.summary() == {}
    for estimated, actual in [(60, 90), (60, 30), (120, 125), (30, 30)]:
        acc.add(estimated, actual)
    # errors +30, -30, +5, 0 -> absolute 0, 5, 30, 30; signed -30, 0, 5, 30
    assert acc.summary() == {"median_abs_s": 5, "p90_abs_s": 30, "bias_s": 0}
    acc.add(10, 70)  # +60; the window keeps the last four: -30, +5, 0, +60
    assert acc.count == 5
    assert acc.summary() == {"median_abs_s": 5, "p90_abs_s": 60, "bias_s": 0}
