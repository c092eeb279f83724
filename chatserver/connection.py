"""One client WebSocket: a bounded outbound queue and a cursor per conversation.

The hub never awaits a client: it appends encoded frames to the connection's queue and a
writer task drains it. A client too slow for its queue is closed (4009) and recovers by
resuming from its cursors, so one slow reader never slows anybody else.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from typing import Any

from starlette.websockets import WebSocket

from chatserver.log import get_logger
from chatserver.protocol import OutFrame, parse_stream_id

log = get_logger(__name__)

_ids = itertools.count(1)

CLOSE_TOO_SLOW = 4009
CLOSE_TRY_AGAIN = 1013  # the server could not serve this socket now; reconnect and resume


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
        self.closed = False
        # conversation id -> last message id delivered (as a comparable tuple)
        self.cursors: dict[str, tuple[int, int]] = {}
        # conversation id -> events that arrived while its history was being replayed
        self.syncing: dict[str, list[tuple[str, str, OutFrame | None]]] = {}
        self.log = log.bind(conn=self.id, site=site, role=role)

    def send(self, frame: OutFrame | dict[str, Any]) -> None:
        """Queue a frame; never blocks. Overflow closes the connection (it will resume)."""
        if self.closed:
            return
        if len(self.out) >= self.max_queue:
            self.log.warning("slow_consumer_disconnected", queued=len(self.out))
            self.close(CLOSE_TOO_SLOW)
            return
        if isinstance(frame, dict):
            frame = OutFrame(frame)
        self.out.append(frame.encoded(self.fmt))
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.out and not self.closed:
                data = self.out.popleft()
                if isinstance(data, str):
                    await self.ws.send_text(data)
                else:
                    await self.ws.send_bytes(data)
        except Exception:
            # The socket went away under us; the endpoint's receive loop sees it and cleans up.
            self.closed = True
            self.out.clear()
        finally:
            self.writer = None

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait until queued frames are written (used before a deliberate close)."""
        if self.writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self.writer), timeout)

    def close(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        self.out.clear()
        asyncio.get_running_loop().create_task(self._close(code))

    async def _close(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code)

    def deliver(self, conv_id: str, msg_id: str, prev: str, frame: OutFrame | None) -> bool:
        """Deliver a published message once and in order (``frame`` None: only move the
        cursor past a message this connection must not see).

        Returns True when the message does not follow this connection's cursor (a gap: some
        event was missed); the caller must then resync the conversation from the stream.
        """
        pending = self.syncing.get(conv_id)
        if pending is not None:
            pending.append((msg_id, prev, frame))
            return False
        cursor = self.cursors.get(conv_id)
        if cursor is None:
            return False
        mid = parse_stream_id(msg_id)
        if mid <= cursor:
            return False
        if parse_stream_id(prev) != cursor:
            return True
        self.cursors[conv_id] = mid
        if frame is not None:
            self.send(frame)
        return False


class VisitorConn(Connection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visitor_id = ""
        self.name = ""
        self.department = ""
        self.conv_id: str | None = None
        self.conv_status: str | None = None
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
