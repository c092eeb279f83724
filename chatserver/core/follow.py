"""One connection's place in one conversation's stream: the delivery machine, without I/O.

A connection follows a conversation with a :class:`Follow`. Live events (from the bus) and
replayed stream entries (read from Redis by the hub) both go through it; it says what to
send, what to hold and when the stream must be read again, so that the connection receives
the stream's suffix after its cursor exactly once and in id order, however the two sources
interleave, repeat or drop entries.

The stream is the truth and the bus only a doorbell: whenever the live events do not chain
onto the cursor (``prev`` is not the last id delivered), the answer is to read the stream
again from the cursor, never to guess. The hub feeds it and writes what it returns; nothing
here awaits, so every interleaving can be tested without sockets or Redis.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Generic, TypeVar

StreamId = tuple[int, int]
ZERO: StreamId = (0, 0)

F = TypeVar("F")

# Live events held while a replay is in progress; past this the holding is dropped and the
# stream read again from the cursor (a long replay to a slow reader meets a busy chat).
HOLD_LIMIT = 1000


def parse_id(stream_id: str) -> StreamId:
    """Stream ids order as (milliseconds, sequence); string order is wrong past 9 digits."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def format_id(sid: StreamId) -> str:
    return f"{sid[0]}-{sid[1]}"


class Live(enum.Enum):
    """What to do with one live event."""

    SEND = "send"  # the next entry after the cursor: write it (the cursor moved)
    SKIP = "skip"  # already delivered (a duplicate or an old event): drop it
    HOLD = "hold"  # a replay is running: held, merged when the replay ends
    GAP = "gap"  # it does not follow the cursor: something was missed, read the stream again


@dataclass(slots=True)
class Follow(Generic[F]):
    """The cursor of one connection in one conversation, and its replay state.

    ``cursor`` is the last id delivered (``None`` until the first replay has finished: the
    connection has not caught up yet). While :attr:`replaying`, live events are held and
    the replay advances :attr:`replay_cursor`; :meth:`finish_replay` merges what was held.
    A frame of ``None`` stands for an entry this connection must not see (a note for a
    visitor): its id still moves the cursor.
    """

    cursor: StreamId | None = None
    replaying: bool = False
    replay_cursor: StreamId = ZERO
    held: list[tuple[StreamId, StreamId, F | None]] = field(default_factory=list)
    overflowed: bool = False
    hold_limit: int = HOLD_LIMIT

    # --- live events ----------------------------------------------------------------------
    def live(self, mid: StreamId, prev: StreamId, frame: F | None) -> Live:
        """A published entry ``mid`` whose predecessor in the stream is ``prev``."""
        if self.replaying:
            if len(self.held) >= self.hold_limit:
                self.overflowed = True
                self.held.clear()
            elif not self.overflowed:
                self.held.append((mid, prev, frame))
            return Live.HOLD
        if self.cursor is None or mid <= self.cursor:
            return Live.SKIP
        if prev != self.cursor:
            return Live.GAP
        self.cursor = mid
        return Live.SEND

    # --- replay ---------------------------------------------------------------------------
    def start_replay(self, after: StreamId | None = None) -> StreamId:
        """Begin a replay after ``after`` (default: the cursor, or the start of the stream).

        Returns the id to read the stream after. Live events are held from now on.
        """
        if after is None:
            after = self.cursor if self.cursor is not None else ZERO
        self.replaying = True
        self.replay_cursor = after
        self.held = []
        self.overflowed = False
        return after

    def replayed(self, mid: StreamId) -> bool:
        """An entry read from the stream, in order: True when it is to be written."""
        if mid <= self.replay_cursor:
            return False
        self.replay_cursor = mid
        return True

    def finish_replay(self) -> list[F | None] | None:
        """The stream has been read to its end: merge what was held.

        Returns the held frames to write after the replay (``None`` entries only move the
        cursor), and the connection is live again; or ``None`` when the held events do not
        chain onto what was read (the holding overflowed, or the bus skipped an entry): read
        the stream again from :attr:`replay_cursor`, then call this again.
        """
        if self.overflowed:
            self.overflowed = False
            self.held = []
            return None
        out: list[F | None] = []
        cursor = self.replay_cursor
        for mid, prev, frame in sorted(self.held, key=lambda h: h[0]):
            if mid <= cursor:
                continue
            if prev != cursor:
                # The entry before a held one is missing (the bus skipped it): the stream has
                # it. Nothing merged so far was written, so the read resumes where it ended.
                self.held = []
                return None
            out.append(frame)
            cursor = mid
        self.replaying = False
        self.held = []
        self.replay_cursor = cursor
        if self.cursor is None or cursor > self.cursor:
            self.cursor = cursor
        return out

    def abort_replay(self) -> None:
        """The replay failed (Redis went away): drop what was held and keep the old cursor.

        The events held are lost to the live path; the periodic gap check sees the cursor
        behind the stream and replays again.
        """
        self.replaying = False
        self.held = []
        self.overflowed = False
