"""The receive loop both WebSocket endpoints share: read a frame, validate, dispatch, answer.

Any failure of one frame becomes an error frame with a documented code; the socket stays
usable. Only floods and authentication failures close it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from redis.exceptions import RedisError
from starlette.websockets import WebSocket

from chatserver.close_codes import CloseCode
from chatserver.config import Settings
from chatserver.connection import Connection
from chatserver.core.ratelimit import TokenBucket
from chatserver.limits import close_flooder
from chatserver.protocol import JSON, MSGPACK, Codec, ProtocolError
from chatserver.store import StoreError

STORE_MESSAGES = {
    "not_found": "no such conversation",
    "forbidden": "that conversation is not yours",
    "closed": "the conversation is closed",
    "conflict": "someone else took that conversation",
    "capacity": "you are at your capacity",
    "none": "no agent could take it",
    "file_not_found": "no such file in this conversation; upload it first",
    "file_in_use": "that file is already in another message; upload it again",
}


def choose_format(ws: WebSocket) -> tuple[str, str | None]:
    """Wire format and the subprotocol to confirm, from what the client offered."""
    offered = ws.scope.get("subprotocols") or []
    if MSGPACK in offered:
        return MSGPACK, MSGPACK
    return JSON, (JSON if JSON in offered else None)


def store_error(exc: StoreError, ref: str | None) -> ProtocolError:
    code = "conversation_closed" if exc.code == "closed" else exc.code
    return ProtocolError(code, STORE_MESSAGES.get(exc.code, exc.code), ref=ref)


def unavailable(ref: str | None) -> ProtocolError:
    return ProtocolError("unavailable", "storage unreachable; nothing was stored; retry", ref=ref)


def _retrieve(fut: asyncio.Future[Any]) -> None:
    # Whoever drops a receipt (a closed socket) must not leave its error unretrieved.
    if not fut.cancelled():
        fut.exception()


class Receipts:
    """A socket's messages in flight: stored in arrival order and acknowledged in that order,
    without the socket waiting for each round trip before reading its next frame.

    :meth:`send` starts the store call at once; the script runner keeps calls in call order,
    so a socket's messages are stored in the order they arrived. The coroutine given returns
    the ack frame (or None when it answered otherwise). Only when too many are in flight does
    :meth:`send` wait (backpressure).
    """

    MAX_IN_FLIGHT = 64

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.queue: deque[tuple[str, asyncio.Future[dict[str, Any] | None]]] = deque()
        self.task: asyncio.Task[None] | None = None

    async def send(
        self, client_id: str, storing: Coroutine[Any, Any, dict[str, Any] | None]
    ) -> None:
        # A task starts on the next loop turn, after the ones created before it: the order
        # of the store calls is the order of the frames.
        fut = asyncio.ensure_future(storing)
        fut.add_done_callback(_retrieve)
        self.queue.append((client_id, fut))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._acknowledge())
        if len(self.queue) >= self.MAX_IN_FLIGHT:
            await asyncio.wait({self.queue[0][1]})

    async def _acknowledge(self) -> None:
        try:
            while self.queue:
                client_id, fut = self.queue[0]
                frame: dict[str, Any] | None
                try:
                    frame = await asyncio.shield(fut)
                except ProtocolError as exc:
                    frame = exc.frame()
                except StoreError as exc:
                    frame = store_error(exc, client_id).frame()
                except (RedisError, OSError, TimeoutError) as exc:
                    self.conn.log.warning("redis_unavailable", error=str(exc))
                    frame = unavailable(client_id).frame()
                except Exception:
                    # Whatever it was, the sender must hear back (it resends): a receipt
                    # that never answers stalls every later one of the socket.
                    self.conn.log.exception("receipt_failed", client_id=client_id)
                    frame = unavailable(client_id).frame()
                self.queue.popleft()
                if frame is not None:
                    self.conn.send(frame)
        finally:
            self.task = None

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()


def _ref_of(codec: Codec, data: str | bytes) -> str | None:
    """The ``ref`` of a frame refused by the frame rate, as protocol.md promises: without it
    a client cannot tell which of its unacknowledged messages to resend, and one refused
    under load waited for the next reconnect (found by the cluster failover test). The frame
    is already read and within the size limit, and a flooder is closed after 50 refusals, so
    decoding it costs little."""
    try:
        frame = codec.decode(data)
    except ProtocolError:
        return None
    ref = frame.get("client_id") or frame.get("conversation_id")
    return ref if isinstance(ref, str) else None


async def receive_loop(
    ws: WebSocket,
    conn: Connection,
    codec: Codec,
    settings: Settings,
    handle: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """Serve frames until the client goes away or floods."""
    bucket = TokenBucket(settings.frames_per_second, settings.frame_burst)
    while not conn.closed:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        data: str | bytes | None = message.get("text")
        if data is None:
            data = message.get("bytes")
        if data is None:
            continue
        wait = bucket.take(time.monotonic())
        if wait:
            error = ProtocolError(
                "rate_limited", "too many frames", ref=_ref_of(codec, data), retry_after=wait
            )
            if conn.flood.frame_refused():
                await close_flooder(conn, error)
                return
            conn.send(error.frame())
            continue
        conn.flood.frame_accepted()
        ref: str | None = None
        ftype = None
        try:
            frame = codec.decode(data)
            ftype = frame["type"]
            ref = frame.get("client_id") or frame.get("conversation_id")
            await handle(frame)
        except ProtocolError as exc:
            conn.send(exc.frame())
        except StoreError as exc:
            conn.send(store_error(exc, ref).frame())
        except (RedisError, OSError, TimeoutError) as exc:
            conn.log.warning("redis_unavailable", error=str(exc))
            conn.send(unavailable(ref).frame())
            if ftype == "hello":
                # A session that could not start is of no use: the client reconnects (with
                # backoff) instead of waiting for a welcome that will not come.
                await conn.flush(1.0)
                conn.close(CloseCode.TRY_AGAIN)
                return
