"""Paged walks over a site's sorted sets and sets, in plain Python (no I/O).

Nothing per site is read whole: the sweeper and the dashboard read a site's open
conversations, queues and agents' load sets a page at a time, and the sweeper spreads one
full pass over as many ticks as its budget needs.

A sorted-set walk keeps a cursor ``(score, member)``: the next page is read from the cursor's
score on (inclusive, by score) and keeps only what sorts after the cursor, so members that
come and go meanwhile never shift the walk (a walk by rank would skip one member for each
removal before the cursor). Members sharing one score (conversations created in the same
millisecond) are ordered by member, as Redis orders them; a read that the ties at the
cursor's score leave short of a page reads again, twice as many (:func:`next_read`).

A conversation whose score moves while a pass walks (a reopened one is re-added at its new
time) is met later in the same pass or in the next one: scores only grow, so none moves
from after the cursor to before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Cursor = tuple[float, str]  # (score, member) of the last entry handled
Entry = tuple[str, float]  # (member, score), as ZRANGE ... WITHSCORES gives them


def after(entries: Sequence[Entry], cursor: Cursor | None) -> list[Entry]:
    """The entries (read from the cursor's score on) that sort after ``cursor``."""
    if cursor is None:
        return list(entries)
    score, member = cursor
    return [(m, s) for m, s in entries if s > score or (s == score and m > member)]


@dataclass(frozen=True, slots=True)
class Read:
    """One ZRANGE BYSCORE to send: from ``min_score`` (inclusive, or '-inf'), LIMIT
    ``offset`` ``count``."""

    min_score: float | None  # None: from the start
    offset: int
    count: int


def first_read(cursor: Cursor | None, page: int) -> Read:
    """The read for the page after ``cursor``: a page plus one (for the cursor itself)."""
    if cursor is None:
        return Read(None, 0, page)
    return Read(cursor[0], 0, page + 1)


def next_read(read: Read, got: Sequence[Entry], cursor: Cursor | None, page: int) -> Read | None:
    """Whether a full read left less than a page after the cursor (members tied with the
    cursor's score came first): then read again, twice as many; else None, and the page is
    what :func:`after` keeps of ``got`` (less than a page only at the end of the set)."""
    if cursor is None or len(got) < read.count or len(after(got, cursor)) >= page:
        return None
    return Read(read.min_score, 0, read.count * 2)


def last_cursor(entries: Sequence[Entry]) -> Cursor | None:
    """The cursor after the last of ``entries`` (None for none)."""
    if not entries:
        return None
    member, score = entries[-1]
    return (score, member)


# --- the sweeper's pass ---------------------------------------------------------------------
OPEN, QUEUES, LOADS = "open", "queues", "loads"
PHASES = (OPEN, QUEUES, LOADS)


@dataclass(slots=True)
class SweepPass:
    """Where one node's sweep of one site is: which phase, which queue or agent, and the
    cursor in it. A pass walks the open set, then every department's queue, then every
    agent's load set; the next pass starts over.

    ``started_at`` is when the pass began (ms, the caller's clock) and ``ticks`` how many
    ticks it has taken so far; :attr:`last_pass_ms` and :attr:`last_pass_ticks` keep the
    figures of the last pass completed.
    """

    phase: str = OPEN
    item: str | None = None  # the department or agent being walked (None: the first)
    cursor: Cursor | None = None  # in the open set or the queue
    scan: int = 0  # the SSCAN cursor in an agent's load set
    started_at: int = 0
    ticks: int = 0
    passes: int = 0
    last_pass_ms: int = 0
    last_pass_ticks: int = 0

    def begin_tick(self, now: int) -> None:
        if self.phase == OPEN and self.cursor is None and self.ticks == 0:
            self.started_at = now
        self.ticks += 1

    def next_phase(self) -> None:
        self.phase = PHASES[PHASES.index(self.phase) + 1]
        self.item, self.cursor, self.scan = None, None, 0

    def current(self, names: Sequence[str]) -> str | None:
        """The department or agent to walk now, from the sorted ``names`` read this tick:
        the one being walked (even if it has just gone: its keys read empty), else the first;
        None when there is none."""
        if self.item is None:
            self.item = names[0] if names else None
        return self.item

    def next_item(self, names: Sequence[str]) -> bool:
        """The walk of one queue or load set is done: on to the next name after it, by
        name (names added or removed meanwhile never shift the walk). False when it was
        the last: the phase is done (the caller moves on)."""
        done = self.item
        self.item = next((n for n in names if done is None or n > done), None)
        self.cursor, self.scan = None, 0
        return self.item is not None

    def finish(self, now: int) -> None:
        """The pass covered everything: keep its figures and start over."""
        self.passes += 1
        self.last_pass_ms = now - self.started_at
        self.last_pass_ticks = self.ticks
        self.phase, self.item, self.cursor, self.scan, self.ticks = OPEN, None, None, 0, 0


@dataclass(frozen=True, slots=True)
class Budget:
    """What one tick may read for one site: ``pages`` pages of ``page`` entries."""

    page: int = 1000
    pages: int = 10

    @property
    def entries(self) -> int:
        return self.page * self.pages

    def ticks_for(self, entries: int) -> int:
        """Ticks one pass takes over ``entries`` entries (open, queued and held together),
        counting that each queue and load set starts a page of its own."""
        return max(1, -(-entries // self.entries))


# --- a cached set with a version --------------------------------------------------------------
@dataclass(slots=True)
class VersionedCache:
    """An in-process copy of a small, hot Redis set (the site set) and when to look again.

    The copy is kept with the version (a counter the writers bump in the same script as the
    change) it was read at. After ``check_ms`` the holder reads the version again (one GET,
    shared by every loop of the process) and reloads the set only if it moved; after
    ``max_age_ms`` it reloads anyway, which bounds how long a change made behind the store's
    back (a direct SADD) goes unseen.
    """

    check_ms: int = 1000
    max_age_ms: int = 30_000
    members: tuple[str, ...] | None = None
    version: str = ""
    loaded_at: int = 0
    checked_at: int = 0

    def fresh(self, now: int) -> bool:
        """The copy may be used without asking Redis anything."""
        return self.members is not None and now - self.checked_at < self.check_ms

    def still_valid(self, version: str, now: int) -> bool:
        """After a version check: the copy holds (and counts as checked now)."""
        if (
            self.members is None
            or version != self.version
            or now - self.loaded_at >= self.max_age_ms
        ):
            return False
        self.checked_at = now
        return True

    def load(self, members: Sequence[str], version: str, now: int) -> tuple[str, ...]:
        self.members = tuple(sorted(members))
        self.version, self.loaded_at, self.checked_at = version, now, now
        return self.members

    def invalidate(self) -> None:
        self.members = None
