"""The delivery machine (core/follow.py) under every interleaving hypothesis can find.

A simulated stream, a simulated bus that may drop, repeat or reorder its events, replay pages
of any size interleaved with live events, resyncs and reconnects: whatever happens, the
client receives the stream's suffix after its first cursor exactly once and in order, and a
visitor never receives an agent-only entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from chatserver.core.follow import ZERO, Follow, Live, StreamId, format_id, parse_id


def test_ids_parse_and_format() -> None:
    assert parse_id("1732390000000-7") == (1732390000000, 7)
    assert format_id((12, 3)) == "12-3"
    # Numeric, not string, order.
    assert parse_id("10-0") > parse_id("9-5")


def test_live_in_order_moves_the_cursor() -> None:
    f: Follow[str] = Follow(cursor=ZERO)
    assert f.live((1, 0), ZERO, "a") is Live.SEND
    assert f.live((1, 0), ZERO, "a") is Live.SKIP  # a repeat
    assert f.live((3, 0), (2, 0), "c") is Live.GAP  # (2, 0) was missed
    assert f.cursor == (1, 0)


def test_a_replay_holds_live_events_and_merges_them_once() -> None:
    f: Follow[str] = Follow(cursor=(1, 0))
    assert f.start_replay() == (1, 0)
    assert f.live((3, 0), (2, 0), "c") is Live.HOLD
    assert f.replayed((2, 0)) and f.replayed((3, 0))  # the read reached (3, 0) too
    assert f.live((4, 0), (3, 0), "d") is Live.HOLD
    assert f.finish_replay() == ["d"]
    assert f.cursor == (4, 0) and not f.replaying


def test_held_events_that_do_not_chain_ask_for_another_read() -> None:
    f: Follow[str] = Follow(cursor=(1, 0))
    f.start_replay()
    assert f.replayed((2, 0))
    f.live((4, 0), (3, 0), "d")  # (3, 0) never came on the bus
    assert f.finish_replay() is None
    assert f.replaying and f.replay_cursor == (2, 0)
    assert f.replayed((3, 0)) and f.replayed((4, 0))
    assert f.finish_replay() == []
    assert f.cursor == (4, 0)


def test_holding_overflows_into_another_read() -> None:
    f: Follow[int] = Follow(cursor=ZERO, hold_limit=3)
    f.start_replay()
    prev = ZERO
    for i in range(1, 6):
        f.live((i, 0), prev, i)
        prev = (i, 0)
    assert f.finish_replay() is None  # read the stream again instead of holding more


def test_a_sync_from_an_earlier_cursor_replays_again() -> None:
    f: Follow[str] = Follow(cursor=(5, 0))
    assert f.start_replay((2, 0)) == (2, 0)
    assert f.replayed((3, 0))
    assert f.finish_replay() == []
    assert f.cursor == (5, 0)  # never moves back


def test_aborted_replay_keeps_the_cursor() -> None:
    f: Follow[str] = Follow(cursor=(1, 0))
    f.start_replay()
    f.replayed((2, 0))
    f.abort_replay()
    assert f.cursor == (1, 0) and not f.replaying
    assert f.live((2, 0), (1, 0), "b") is Live.SEND


@dataclass
class Sim:
    """The hub's use of a Follow, with a stream and a faulty bus."""

    hidden_for_client: bool
    stream: list[tuple[StreamId, bool]] = field(default_factory=list)  # (id, agent-only)
    bus: list[tuple[StreamId, StreamId]] = field(default_factory=list)
    follow: Follow[StreamId] = field(default_factory=Follow)
    received: list[StreamId] = field(default_factory=list)
    need_resync: bool = False
    first_cursor: StreamId = ZERO
    hold_limit: int = 1000
    in_flight: list[StreamId] | None = None
    in_flight_size: int = 0

    def frame(self, sid: StreamId) -> StreamId | None:
        agent_only = dict(self.stream)[sid]
        return None if agent_only and self.hidden_for_client else sid

    def write(self, frame: StreamId | None) -> None:
        if frame is not None:
            self.received.append(frame)

    def append(self, agent_only: bool) -> None:
        prev = self.stream[-1][0] if self.stream else ZERO
        sid = (len(self.stream) + 1, 0)
        self.stream.append((sid, agent_only))
        self.bus.append((sid, prev))

    def deliver(self, mode: str) -> None:
        if not self.bus:
            return
        if mode == "swap" and len(self.bus) > 1:
            self.bus[0], self.bus[1] = self.bus[1], self.bus[0]
        sid, prev = self.bus.pop(0)
        if mode == "drop":
            return
        if mode == "repeat":
            self.bus.insert(0, (sid, prev))
        verdict = self.follow.live(sid, prev, self.frame(sid))
        if verdict is Live.SEND:
            self.write(self.frame(sid))
        elif verdict is Live.GAP:
            self.need_resync = True

    def resync(self) -> None:
        if not self.follow.replaying and self.follow.cursor is not None:
            self.follow.start_replay()
            self.need_resync = False

    def page(self, size: int) -> None:
        """One page of a running replay, as the hub reads it: the read is taken on one step
        and applied on the next, so live events can arrive while it is in flight."""
        f = self.follow
        if not f.replaying:
            self.in_flight = None
            return
        if self.in_flight is None:
            after = f.replay_cursor
            self.in_flight = [sid for sid, _ in self.stream if sid > after][:size]
            self.in_flight_size = size
            return
        page, self.in_flight = self.in_flight, None
        for sid in page:
            if f.replayed(sid):
                self.write(self.frame(sid))
        if len(page) < self.in_flight_size:
            merged = f.finish_replay()
            for frame in merged or ():
                self.write(frame)

    def reconnect(self) -> None:
        """A new socket resumes after the last id the client saw."""
        after = self.received[-1] if self.received else self.first_cursor
        self.follow = Follow(hold_limit=self.hold_limit)
        self.in_flight = None
        self.bus.clear()  # the old socket's events died with it
        self.follow.start_replay(after)

    def settle(self) -> None:
        """Quiet bus, then the periodic gap check until the connection is caught up."""
        while self.bus:
            self.deliver("ok")
        for _ in range(2 * len(self.stream) + 5):
            head = self.stream[-1][0] if self.stream else ZERO
            if not self.follow.replaying and (self.follow.cursor or ZERO) >= head:
                return
            if not self.follow.replaying:
                self.follow.start_replay()
            self.page(7)
            self.page(7)
        raise AssertionError("never caught up")


# Weighted towards what makes interleavings: appends and bus deliveries between the two
# halves of a page read.
OPS = st.one_of(
    st.tuples(st.just("append"), st.booleans()),
    st.tuples(st.just("append"), st.just(False)),
    st.tuples(st.just("bus"), st.sampled_from(["ok", "drop", "repeat", "swap"])),
    st.tuples(st.just("bus"), st.just("ok")),
    st.tuples(st.just("page"), st.integers(1, 8)),
    st.tuples(st.just("page"), st.integers(1, 8)),
    st.tuples(st.just("resync"), st.none()),
    st.tuples(st.just("reconnect"), st.none()),
)


@settings(max_examples=5000, deadline=None)
@given(
    history=st.integers(0, 6),
    start=st.integers(0, 6),
    hidden=st.booleans(),
    hold_limit=st.integers(1, 6),
    ops=st.lists(OPS, max_size=80),
)
def test_every_interleaving_delivers_the_suffix_once_in_order(
    history: int, start: int, hidden: bool, hold_limit: int, ops: list[tuple[str, object]]
) -> None:
    sim = Sim(hidden_for_client=hidden, hold_limit=hold_limit)
    for i in range(history):
        sim.append(agent_only=i % 4 == 3)
    sim.bus.clear()  # published before this connection subscribed
    sim.first_cursor = (min(start, history), 0) if start else ZERO
    sim.follow = Follow(hold_limit=hold_limit)
    sim.follow.start_replay(sim.first_cursor)
    for op, arg in ops:
        if op == "append":
            sim.append(bool(arg))
        elif op == "bus":
            sim.deliver(str(arg))
        elif op == "page":
            sim.page(int(str(arg)))
        elif op == "resync" and sim.need_resync:
            sim.resync()
        elif op == "reconnect":
            sim.reconnect()
    sim.settle()
    expected = [
        sid
        for sid, agent_only in sim.stream
        if sid > sim.first_cursor and not (agent_only and hidden)
    ]
    assert sim.received == expected
    assert sim.follow.cursor == (sim.stream[-1][0] if sim.stream else ZERO)


def test_the_transport_is_found_under_wrapped_sends() -> None:
    """A socket that never reads again is aborted through the transport under the ASGI send
    (connection._transport_of), however many wrappers Starlette puts around it."""
    from chatserver.connection import _transport_of

    class Transport:
        def abort(self) -> None: ...

    class Protocol:
        def __init__(self) -> None:
            self.transport = Transport()

        async def send(self, message: object) -> None: ...

    proto = Protocol()

    def wrap(inner: object) -> object:
        async def sender(message: object) -> None:
            await inner(message)  # type: ignore[operator]

        return sender

    assert _transport_of(wrap(wrap(proto.send)), 6) is proto.transport
    assert _transport_of(wrap(lambda m: None), 6) is None
