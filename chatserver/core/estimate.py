"""Estimated wait for a queued visitor.

The model: the agents' free slots take the first visitors at once; everyone behind them waits
for chats to end. Chats end at a rate of (total capacity / mean handle time), so a visitor
``k`` places past the free slots waits about ``k * handle / capacity``. The handle time is the
mean of the last chats' assigned-to-resolved durations (not their resolution time, which
includes queueing), so a rush does not move it. No constant is added: a visitor with a free
slot ahead is told "now". Office hours shape it (:func:`within_hours`): a wait that runs
past closing resumes at the next opening. `python -m bench.queue_sim` measures it against
what happened.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from chatserver.core.business_clock import BusinessClock
from chatserver.core.department_hours import DepartmentClocks
from chatserver.core.hours import OfficeHours, is_open_by, next_closing_by, next_opening_by

# Until real handle times are known, assume a typical support chat of five minutes.
DEFAULT_HANDLE_SECONDS = 300.0
# What "now" is: a free slot takes the visitor as soon as routing runs (milliseconds).
IMMEDIATE_SECONDS = 0
# Chats the handle time is the mean of: enough that one long chat moves it by little, few
# enough to follow a real change of the team's pace within an hour or so.
HANDLE_WINDOW = 100


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
    """The mean of the last ``window`` handle times (seconds), DEFAULT_HANDLE_SECONDS until
    the first one. A plain windowed mean: an exponentially weighted one with a weight that
    follows a shift quickly swung by half its value on a lognormal load (one long chat)."""

    window: int = HANDLE_WINDOW
    recent: deque[float] = field(default_factory=deque)
    samples: int = 0
    _sum: float = 0.0

    @property
    def mean(self) -> float:
        return self._sum / len(self.recent) if self.recent else DEFAULT_HANDLE_SECONDS

    def add(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.recent.append(seconds)
        self._sum += seconds
        if len(self.recent) > self.window:
            self._sum -= self.recent.popleft()
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


def within_hours(
    estimate_s: int | None, now_ms: int, hours: OfficeHours | None
) -> tuple[int | None, int | None]:
    """The wait as the office hours shape it: ``(estimate_s, opens_at_ms)``.

    Agents work the hours: a wait that runs past closing resumes when the team is back, so
    the part left at closing time is added after the next opening and ``opens_at_ms`` says
    when that is. A visitor queued while the team is closed and nobody is online is told when
    it opens (the estimate stays None: nobody can say how long after). Agents online outside
    the hours keep taking chats, so then the estimate stands as it is. Without hours (always
    open) nothing changes.
    """
    if hours is None:
        return estimate_s, None
    if not is_open_by(hours, now_ms):
        return (
            (estimate_s, None) if estimate_s is not None else (None, next_opening_by(hours, now_ms))
        )
    if estimate_s is None:
        return None, None
    closing = next_closing_by(hours, now_ms)
    if closing is None or now_ms + estimate_s * 1000 <= closing:
        return estimate_s, None
    opens = next_opening_by(hours, closing)
    if opens is None:
        return estimate_s, None
    left_ms = now_ms + estimate_s * 1000 - closing
    return math.ceil((opens - now_ms + left_ms) / 1000), opens


def next_visitor_wait(
    queued: int,
    free_slots: int,
    total_capacity: int,
    agents_online: int,
    handle_seconds: float,
    now_ms: int,
    hours: OfficeHours | None,
) -> tuple[int | None, int | None]:
    """What the next visitor to queue would be told: ``(estimate_s, opens_at_ms)``, the same
    functions as the visitors' own estimates (chatserver/queue_updates.py). (None, None) with
    nobody queued: a number there would read as someone waiting."""
    if not queued:
        return None, None
    wait = estimate_wait(queued + 1, free_slots, total_capacity, agents_online, handle_seconds)
    return within_hours(wait, now_ms, hours)


def hours_of(business: BusinessClock | DepartmentClocks, dept: str | None) -> OfficeHours | None:
    """The office hours a department's queue works in (the site's for None), from the SLA
    clocks the dashboard holds."""
    if isinstance(business, DepartmentClocks):
        return business.clock(dept or "").hours
    return business.hours
