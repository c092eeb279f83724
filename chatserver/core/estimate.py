"""Estimated wait for a queued visitor.

The model: the agents' free slots take the first visitors at once; everyone behind them waits
for chats to end. Chats end at a rate of (total capacity / mean handle time), so a visitor
``k`` places past the free slots waits about ``k * handle / capacity``. Handle time is learned
from recent conversations with an exponentially weighted mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
