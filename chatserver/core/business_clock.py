"""Business time: the part of real time in which a site is within its office hours.

The SLA clocks count only business time (docs/metrics.md, "Business time"). An instant is
business time exactly when :func:`chatserver.core.hours.is_open` says the site is open then,
and business time passes at the rate of real time: an interval of the office hours that a
change of daylight-saving time shortens or lengthens counts as long as it really lasts, an
hour repeated by the change counts twice when it is open, and an hour it skips is not there
to count. ``None`` hours mean always open, where business time is wall time.

Pure, no I/O: every instant is an argument (Unix milliseconds); nothing reads the clock.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chatserver.core.hours import OfficeHours

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (date.weekday() numbering)
# Zones change their UTC offset a few times a year at most; a step this short holds at most
# one change, which a bisection then finds to the millisecond.
_STEP_MS = 6 * HOUR_MS
# Spans are computed for this much beyond what a query asks, so that the next messages
# (whose clocks start a little later) find them already there.
_SPARE_MS = 7 * DAY_MS
# A memo wider than this is rebuilt around the query instead of widened further. Wide
# enough that the dashboard's oldest unanswered chat and its newest share one.
_MAX_MEMO_MS = 400 * DAY_MS
# A deadline further away than this is treated as never: no timer is worth setting for it,
# and only hours of a few minutes a week against a target of hours get there.
HORIZON_MS = 5 * 366 * DAY_MS


def _offset_ms(tz: ZoneInfo, t: int) -> int:
    offset = (_EPOCH + timedelta(milliseconds=t)).astimezone(tz).utcoffset()
    return 0 if offset is None else offset // timedelta(milliseconds=1)


def _constant_offsets(tz: ZoneInfo, lo: int, hi: int) -> Iterator[tuple[int, int, int]]:
    """``(start, end, offset)`` pieces of ``[lo, hi)``, each as long as the zone's UTC offset
    stays the same."""
    piece, t, off = lo, lo, _offset_ms(tz, lo)
    while t < hi:
        end = min(hi, t + _STEP_MS)
        end_off = _offset_ms(tz, end)
        if end_off != off:
            before, after = t, end  # the offset is `off` at `before` and not at `after`
            while after - before > 1:
                mid = (before + after) // 2
                if _offset_ms(tz, mid) == off:
                    before = mid
                else:
                    after = mid
            yield piece, after, off
            piece = after
        t, off = end, end_off
    if piece < hi:
        yield piece, hi, off


def open_spans(hours: OfficeHours, lo: int, hi: int) -> list[tuple[int, int]]:
    """The site's open time within ``[lo, hi)``: sorted, disjoint ``(start, end)`` spans of
    Unix ms, adjacent ones merged."""
    found: list[tuple[int, int]] = []
    for start, end, off in _constant_offsets(hours.tz, lo, hi):
        # Within the piece, local wall time is real time plus `off`: an interval of local
        # wall time maps to one of real time. The day before counts too: its intervals may
        # run past midnight.
        local_lo, local_hi = start + off, end + off
        for day in range(local_lo // DAY_MS - 1, (local_hi - 1) // DAY_MS + 1):
            midnight = day * DAY_MS
            for first, last in hours.days.get((day + _EPOCH_WEEKDAY) % 7, ()):
                a = max(local_lo, midnight + first * MINUTE_MS)
                b = min(local_hi, midnight + last * MINUTE_MS)
                if a < b:
                    found.append((a - off, b - off))
    found.sort()
    merged: list[tuple[int, int]] = []
    for a, b in found:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


class BusinessClock:
    """Deadlines and elapsed time in one site's business time.

    It keeps the open spans of the last window it was asked about, with their running total,
    so that the queries of a busy site (a deadline for each visitor's message, the elapsed
    time of every chat the dashboard lists) are two bisections each and not a walk through
    the calendar. The memo changes no answer.
    """

    __slots__ = ("_cum", "_ends", "_hi", "_lo", "_starts", "hours", "never_open")

    def __init__(self, hours: OfficeHours | None) -> None:
        self.hours = hours
        # Hours with no interval on any day: the site is closed for good, no clock runs.
        self.never_open = hours is not None and not any(hours.days.values())
        self._lo = self._hi = 0
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._cum: list[int] = [0]  # _cum[i]: the open time of the first i spans

    @property
    def always_open(self) -> bool:
        return self.hours is None

    def elapsed(self, start_ms: int, end_ms: int) -> int:
        """The business time (ms) from ``start_ms`` to ``end_ms``; 0 when end is not later."""
        if end_ms <= start_ms or self.never_open:
            return 0
        if self.hours is None:
            return end_ms - start_ms
        self._cover(start_ms, end_ms)
        return self._open_before(end_ms) - self._open_before(start_ms)

    def deadline(self, start_ms: int, duration_ms: int) -> int | None:
        """The first instant by which ``duration_ms`` of business time has passed since
        ``start_ms`` (``start_ms`` itself for a duration of 0 or less), or None when the
        site does not open for that long within :data:`HORIZON_MS`."""
        if duration_ms <= 0:
            return start_ms
        if self.hours is None:
            return start_ms + duration_ms
        if self.never_open:
            return None
        reach = duration_ms + _SPARE_MS
        while True:
            self._cover(start_ms, start_ms + reach)
            goal = self._open_before(start_ms) + duration_ms
            if goal <= self._cum[-1]:
                span = bisect_left(self._cum, goal, lo=1) - 1
                return self._starts[span] + goal - self._cum[span]
            if reach >= HORIZON_MS:
                return None
            reach = min(2 * reach, HORIZON_MS)

    def _open_before(self, t: int) -> int:
        """The open time from the memo's start to ``t`` (within the memo)."""
        i = bisect_right(self._starts, t) - 1
        if i < 0:
            return 0
        return self._cum[i] + min(t, self._ends[i]) - self._starts[i]

    def _cover(self, lo: int, hi: int) -> None:
        hours, built = self.hours, self._hi > self._lo
        if hours is None or (built and self._lo <= lo and hi <= self._hi):
            return
        if built and max(hi, self._hi) - min(lo, self._lo) <= _MAX_MEMO_MS:
            # Widen rather than move: a timer judged from a clock started days ago and the
            # next message's deadline then share one memo.
            lo, hi = min(lo, self._lo), max(hi, self._hi)
        # Spare time on the side the queries moved to; the clocks of new messages only move
        # forward, so a memo moved forward needs none behind.
        new_lo = lo - _SPARE_MS if not built or lo < self._lo else lo
        new_hi = hi + _SPARE_MS
        spans = open_spans(hours, new_lo, new_hi)
        cum = [0]
        for a, b in spans:
            cum.append(cum[-1] + b - a)
        self._lo, self._hi = new_lo, new_hi
        self._starts = [a for a, _ in spans]
        self._ends = [b for _, b in spans]
        self._cum = cum


ALWAYS_OPEN = BusinessClock(None)


def deadline(hours: OfficeHours | None, start_ms: int, duration_ms: int) -> int | None:
    """When ``duration_ms`` of business time since ``start_ms`` has passed (Unix ms), or
    None when it never does. See :meth:`BusinessClock.deadline`."""
    return BusinessClock(hours).deadline(start_ms, duration_ms)


def elapsed(hours: OfficeHours | None, start_ms: int, end_ms: int) -> int:
    """The business time (ms) between two instants. See :meth:`BusinessClock.elapsed`."""
    return BusinessClock(hours).elapsed(start_ms, end_ms)
