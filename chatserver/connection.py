"""One client WebSocket: a bounded outbound queue and a cursor per conversation.

The hub never awaits a client for live events: it appends encoded frames to the
connection's queue, and everything queued in one loop turn is written at once, in one
system call (chatserver/ws_protocol.py), or, while the client is behind, by a writer task
that waits for the transport. A client too slow for its queue is closed
(4009) and recovers by resuming from its cursors, so one slow reader never slows anybody
else. A replay is different: it is paced by the socket (:meth:`Connection.send_paced` waits
while the queue is full), so a conversation of any length replays to a reader of any speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket

from chatserver.close_codes import CloseCode
from chatserver.core.flood import Flood
from chatserver.core.follow import Follow, Live, parse_id
from chatserver.log import get_logger
from chatserver.protocol import OutFrame
from chatserver.ws_protocol import frame_writer

log = get_logger(__name__)

_ids = itertools.count(1)

# A replay waits while this many frames are queued (at most half the live queue, so live
# frames always have room beside a replay).
REPLAY_HIGH_WATER = 64
# A close frame that cannot be written (the client stopped reading and its buffers are full)
# is given this long before the connection is dropped.
CLOSE_TIMEOUT = 10.0


class Connection:
    """State of one socket. ``role`` is "visitor" or "agent"; ``fmt`` the wire format."""

    def __init__(self, ws: WebSocket, fmt: str, role: str, site: str, max_queue: int) -> None:
        self.ws = ws
        self.fmt = fmt
        self.role = role
        self.site = site
        self.id = f"{role[0]}{next(_ids)}"
        self.max_queue = max_queue
        self.out: deque[str | bytes] = deque()
        self.writer: asyncio.Task[None] | None = None
        # uvicorn's protocol object when it offers direct writes (None: ASGI send only).
        self._direct = frame_writer(ws.scope)
        self._flush_pending = False
        self._closing: asyncio.Task[None] | None = None
        self.closed = False
        self.removed = False  # the hub has forgotten it
        self.flood = Flood()  # refusals in a row (frame rate, abuse limits)
        # conversation id -> this socket's cursor and replay state in it
        self.follows: dict[str, Follow[OutFrame]] = {}
        # Set by a replay waiting for the queue to drain (see send_paced).
        self._room: asyncio.Event | None = None
        # Told once when the connection closes on the server's initiative (the hub stops
        # routing to and fanning out on it at once, before the socket is gone).
        self.on_close: Callable[[Connection], None] | None = None
        self.log = log.bind(conn=self.id, site=site, role=role)

    def send(self, frame: OutFrame | dict[str, Any]) -> None:
        """Queue a frame; never blocks. Overflow closes the connection (it will resume)."""
        if self.closed:
            return
        if len(self.out) >= self.max_queue:
            self.log.warning("slow_consumer_disconnected", queued=len(self.out))
            self.close(CloseCode.TOO_SLOW)
            return
        if isinstance(frame, dict):
            frame = OutFrame(frame)
        self.out.append(frame.encoded(self.fmt))
        self._wake_writer()

    def _wake_writer(self) -> None:
        if self.writer is not None or self._flush_pending:
            return
        loop = asyncio.get_running_loop()
        if self._direct is not None:
            # At the end of this loop turn: the frames queued meanwhile go out together.
            self._flush_pending = True
            loop.call_soon(self._flush_now)
        else:
            self.writer = loop.create_task(self._drain())

    def _flush_now(self) -> None:
        self._flush_pending = False
        proto = self._direct
        if self.closed or not self.out or self.writer is not None or proto is None:
            return
        if not proto.frames_writable():  # the client is behind: wait for the transport
            self.writer = asyncio.get_running_loop().create_task(self._drain())
            return
        frames = list(self.out)
        self.out.clear()
        try:
            proto.write_frames(frames)
        except Exception:
            self.closed = True  # gone under us; the endpoint's receive loop cleans up
        if self._room is not None:
            self._room.set()

    def _replay_high(self) -> int:
        return max(1, min(REPLAY_HIGH_WATER, self.max_queue // 2))

    async def send_paced(self, frame: OutFrame) -> bool:
        """Queue a replayed frame, first waiting while the socket is behind.

        Returns False when the connection closed meanwhile (stop replaying). The wait is
        what the socket takes (the writer awaits the transport's flow control), so a replay
        never overflows the live queue, however long the conversation.
        """
        while len(self.out) >= self._replay_high() and not self.closed:
            if self._room is None:
                self._room = asyncio.Event()
            self._room.clear()
            await self._room.wait()
        if self.closed:
            return False
        self.out.append(frame.encoded(self.fmt))
        self._wake_writer()
        return True

    async def _drain(self) -> None:
        try:
            while self.out and not self.closed:
                data = self.out.popleft()
                if isinstance(data, str):
                    await self.ws.send_text(data)
                else:
                    await self.ws.send_bytes(data)
                if self._room is not None and len(self.out) <= self._replay_high() // 2:
                    self._room.set()
        except Exception:
            # The socket went away under us; the endpoint's receive loop sees it and cleans up.
            self.closed = True
            self.out.clear()
        finally:
            self.writer = None
            if self._room is not None:
                self._room.set()

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait until queued frames are written (used before a deliberate close)."""
        if self._flush_pending:
            self._flush_now()
        if self.writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self.writer), timeout)

    def close(self, code: int) -> None:
        """Close from the server's side; the hub forgets the connection at once."""
        if self.closed:
            return
        self.closed = True
        self.out.clear()
        if self._room is not None:
            self._room.set()
        loop = asyncio.get_running_loop()
        if self.on_close is not None:
            # Soon, not now: the caller may be iterating over the hub's sets of connections.
            loop.call_soon(self.on_close, self)
        self._closing = loop.create_task(self._close(code))

    async def _close(self, code: int) -> None:
        # The close frame queues behind whatever the transport still holds: a client that
        # reads again gets it (and the code). One that never reads again would hold the
        # connection and its buffers for good (asyncio closes a transport only once its
        # buffer is written), so past the close timeout it is dropped.
        try:
            await asyncio.wait_for(self.ws.close(code), CLOSE_TIMEOUT)
        except TimeoutError:
            pass  # not even the close frame could be queued
        except Exception:
            return  # the socket is already gone
        else:
            # uvicorn waits this long for the client's reply before closing its side.
            await asyncio.sleep(CLOSE_TIMEOUT + 1)
        transport = _transport_of(self.ws._send, 6)
        if transport is not None and transport.get_write_buffer_size() > 0:
            self.log.info("close_timed_out", code=code)
            with contextlib.suppress(Exception):
                transport.abort()

    def deliver(self, conv_id: str, msg_id: str, prev: str, frame: OutFrame | None) -> bool:
        """Deliver a published message once and in order (``frame`` None: only move the
        cursor past a message this connection must not see).

        Returns True when the message does not follow this connection's cursor (a gap: some
        event was missed); the caller must then resync the conversation from the stream.
        """
        follow = self.follows.get(conv_id)
        if follow is None:
            return False
        verdict = follow.live(parse_id(msg_id), parse_id(prev), frame)
        if verdict is Live.SEND and frame is not None:
            self.send(frame)
        return verdict is Live.GAP


def _transport_of(fn: Any, depth: int) -> Any:
    """The transport under an ASGI ``send``: ASGI has no abort, but uvicorn's protocol object
    (the receiver of the innermost ``send``, under Starlette's wrappers) holds it."""
    owner = getattr(fn, "__self__", None)
    transport = getattr(owner, "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        return transport
    if depth <= 0:
        return None
    for cell in getattr(fn, "__closure__", None) or ():
        with contextlib.suppress(ValueError):
            if callable(cell.cell_contents):
                found = _transport_of(cell.cell_contents, depth - 1)
                if found is not None:
                    return found
    return None


class VisitorConn(Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visitor_id = ""
        self.name = ""
        self.department = ""
        self.conv_id: str | None = None
        self.conv_status: str | None = None
        self.opening = False  # opening a conversation right now (its first message)
        self.last_queue: tuple[int, int | None] | None = None
        # (when, seconds) of the first wait estimate this socket showed for its chat: the
        # wait it really had is compared with it when the chat is assigned.
        self.first_estimate: tuple[int, int] | None = None


class AgentConn(Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agent_id = ""
        self.name = ""
        self.account: dict[str, str] = {}
        self.status = "online"
        self.welcomed = False
        # A digest of the session the socket signed in with: signing out closes its sockets.
        self.session = ""
        # Conversations this (supervisor's) socket follows by `monitor`, held or not: losing
        # one as its agent does not stop following it.
        self.monitoring: set[str] = set()

    @property
    def supervises(self) -> bool:
        """A supervisor's or admin's socket: it may monitor, whisper, join, take over, and
        hears escalations."""
        return self.account.get("role", "agent") in ("supervisor", "admin")
