"""A lean WebSocket client: the `websockets` library's Sans-I/O protocol on an asyncio.Protocol.

The load generator holds thousands of sockets in one process on a small machine, so it avoids
a reader task and a queue per connection: each received frame is decoded and handed to a
callback right in ``data_received``. The wire work (handshake, framing, masking, ping/pong,
closing) is all done by `websockets`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar, cast

import msgpack
import orjson
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

FrameHandler = Callable[[dict[str, Any]], None]
CloseHandler = Callable[["WsConnection"], None]
C = TypeVar("C", bound="WsConnection")

# Frames a client may choose not to decode (agents' queue lists can be large): orjson writes
# `type` first and without spaces; msgpack maps of up to 15 keys start with one header byte.
_JSON_QUEUE = b'{"type":"queue"'
_MSGPACK_QUEUE = b"\xa4type\xa5queue"


class HandshakeError(Exception):
    """The server refused the WebSocket upgrade or closed before it completed."""


class WsConnection(asyncio.Protocol):
    """One client socket. ``on_frame`` gets every decoded data frame; ``on_close`` runs once."""

    def __init__(
        self,
        url: str,
        on_frame: FrameHandler,
        on_close: CloseHandler | None = None,
        headers: dict[str, str] | None = None,
        msgpack_format: bool = False,
        skip_queue_frames: bool = False,
    ) -> None:
        self.msgpack = msgpack_format
        subprotocols = [Subprotocol("msgpack")] if msgpack_format else None
        self.protocol = ClientProtocol(parse_uri(url), subprotocols=subprotocols, max_size=2**22)
        self.headers = headers or {}
        self.on_frame = on_frame
        self.on_close = on_close
        self.skip_queue_frames = skip_queue_frames
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.opened.add_done_callback(_retrieve)  # a failure nobody awaits is not an error
        self.closed = False
        self.closing = False  # we asked for the close
        self.close_code: int | None = None
        self.skipped = 0
        self.handler_errors = 0
        self.last_error = ""
        self._fragments: list[bytes] = []
        self._fragment_binary = False
        self._abort_timer: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        request = self.protocol.connect()
        for name, value in self.headers.items():
            request.headers[name] = value
        self.protocol.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                self._on_ws_frame(event)
            elif isinstance(event, Response) and not self.opened.done():
                if self.protocol.handshake_exc is not None:
                    self.opened.set_exception(HandshakeError(str(self.protocol.handshake_exc)))
                else:
                    self.opened.set_result(None)
        self._flush()

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._flush()
        return None  # let asyncio close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        if self._abort_timer is not None:
            self._abort_timer.cancel()
        self.close_code = self.protocol.close_code
        if not self.opened.done():
            self.opened.set_exception(HandshakeError(f"connection lost: {exc!r}"))
        if self.on_close is not None:
            self.on_close(self)

    # --- frames ---------------------------------------------------------------------------
    def _on_ws_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        data = frame.data if isinstance(frame.data, bytes) else bytes(frame.data)
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if not frame.fin:
                self._fragments = [data]
                self._fragment_binary = opcode is Opcode.BINARY
                return
            self._deliver(data, opcode is Opcode.BINARY)
        elif opcode is Opcode.CONT:
            self._fragments.append(data)
            if frame.fin:
                data, self._fragments = b"".join(self._fragments), []
                self._deliver(data, self._fragment_binary)

    def _deliver(self, data: bytes, binary: bool) -> None:
        if self.skip_queue_frames and (
            data.startswith(_JSON_QUEUE) if not binary else data[1:12] == _MSGPACK_QUEUE
        ):
            self.skipped += 1
            return
        frame = msgpack.unpackb(data, raw=False) if binary else orjson.loads(data)
        if not isinstance(frame, dict):
            return
        try:
            self.on_frame(frame)
        except Exception as exc:  # a generator bug must not kill the socket silently
            self.handler_errors += 1
            self.last_error = repr(exc)

    # --- sending --------------------------------------------------------------------------
    def send(self, frame: dict[str, Any]) -> bool:
        """Encode and write one frame; False when the socket is not open."""
        if self.closed or self.protocol.state is not State.OPEN:
            return False
        if self.msgpack:
            self.protocol.send_binary(msgpack.packb(frame, use_bin_type=True))
        else:
            self.protocol.send_text(orjson.dumps(frame))
        self._flush()
        return True

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        for chunk in self.protocol.data_to_send():
            if chunk:
                transport.write(chunk)
            elif transport.can_write_eof():
                with contextlib.suppress(OSError, RuntimeError):
                    transport.write_eof()
        if (
            self.protocol.state is not State.OPEN
            and self._abort_timer is None
            and self.protocol.close_expected()
        ):
            self._abort_timer = asyncio.get_running_loop().call_later(2.0, self.abort)

    def close(self, code: int = 1000) -> None:
        """Start the closing handshake; the socket is aborted if it takes over two seconds."""
        self.closing = True
        if self.closed:
            return
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(code)
            self._flush()
        else:
            self.abort()

    def abort(self) -> None:
        self.closing = True
        if self.transport is not None and not self.closed:
            self.transport.abort()


def _retrieve(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled():
        fut.exception()


async def connect(
    host: str,
    port: int,
    path: str,
    on_frame: FrameHandler,
    on_close: CloseHandler | None = None,
    headers: dict[str, str] | None = None,
    msgpack_format: bool = False,
    skip_queue_frames: bool = False,
    timeout: float = 10.0,
) -> WsConnection:
    """Open a socket and complete the WebSocket handshake (raises HandshakeError or OSError)."""
    conn = WsConnection(
        f"ws://{host}:{port}{path}", on_frame, on_close, headers, msgpack_format, skip_queue_frames
    )
    return await establish(conn, host, port, timeout)


async def establish(conn: C, host: str, port: int, timeout: float = 10.0) -> C:
    """Connect ``conn`` (built for ws://host:port/...) and complete its handshake."""
    loop = asyncio.get_running_loop()
    await asyncio.wait_for(loop.create_connection(lambda: conn, host, port), timeout)
    try:
        await asyncio.wait_for(asyncio.shield(conn.opened), timeout)
    except BaseException:
        conn.abort()
        raise
    return conn
