"""Estimated wait for a queued visitor.

The model: the agents' free slots take the first visitors at once; everyone behind them waits
for chats to end. Chats end at a rate of (total capacity / mean handle time), so a visitor
``k`` places past the free slots waits about ``k * handle / capacity``. Handle time is learned
from recent conversations with an exponentially weighted mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Until real handle times are known, assume a typical support chat of five minutes.
DEFAULT_HANDLE_SECONDS = 300.0
# Assignment is not instantaneous even with a free slot: routing runs and the agent notices.
IMMEDIATE_SECONDS = 5


def estimate_wait(
    position: int,
    free_slots: int,
    total_capacity: int,
    agents_online: int,
    handle_seconds: float = DEFAULT_HANDLE_SECONDS,
) -> int | None:
    """Seconds a visitor at 1-based ``position`` should expect to wait, or None if unknown.

    None means nobody online can take the chat: the widget says so instead of a number.
    """
    if position < 1:
        raise ValueError("position is 1-based")
    if agents_online <= 0 or total_capacity <= 0:
        return None
    if position <= free_slots:
        return IMMEDIATE_SECONDS
    ahead = position - free_slots
    return IMMEDIATE_SECONDS + math.ceil(ahead * handle_seconds / total_capacity)


@dataclass(slots=True)
class HandleTimeEstimator:
    """Exponentially weighted mean of how long chats take, in seconds.

    ``alpha`` weights the newest sample; 0.1 follows a shift in a few dozen chats without
    jumping at one long outlier.
    """

    mean: float = DEFAULT_HANDLE_SECONDS
    alpha: float = 0.1
    samples: int = 0

    def add(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.samples == 0:
            self.mean = seconds
        else:
            self.mean += self.alpha * (seconds - self.mean)
        self.samples += 1


def should_notify(
    previous: tuple[int, int | None] | None,
    current: tuple[int, int | None],
    tolerance_seconds: int = 15,
) -> bool:
    """Whether a (position, estimate) update is worth a frame to the visitor.

    Position changes always are; an estimate drifting by less than ``tolerance_seconds`` is not,
    so a queue that churns does not make the widget flicker.
    """
    if previous is None:
        return True
    if previous[0] != current[0]:
        return True
    old, new = previous[1], current[1]
    if (old is None) != (new is None):
        return True
    if old is None or new is None:
        return False
    return abs(old - new) >= tolerance_seconds


@dataclass(slots=True)
class EstimateAccuracy:
    """How far the first wait estimate a visitor saw was from the wait it really had.

    Keeps the signed errors (actual minus estimated, seconds) of the last ``window`` visitors:
    positive means visitors waited longer than they were told.
    """

    window: int = 500
    errors: list[float] = field(default_factory=list)
    count: int = 0

    def add(self, estimated_s: float, actual_s: float) -> None:
        self.errors.append(actual_s - estimated_s)
        if len(self.errors) > self.window:
            del self.errors[0]
        self.count += 1

    def summary(self) -> dict[str, float]:
        """Median and 90th percentile of the absolute error, and the median signed error
        (the bias), over the window; empty until a visitor was assigned after an estimate."""
        if not self.errors:
            return {}
        absolute = sorted(abs(e) for e in self.errors)
        signed = sorted(self.errors)
        return {
            "median_abs_s": _nearest_rank(absolute, 0.5),
            "p90_abs_s": _nearest_rank(absolute, 0.9),
            "bias_s": _nearest_rank(signed, 0.5),
        }


def _nearest_rank(ordered: list[float], q: float) -> float:
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
