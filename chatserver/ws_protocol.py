"""uvicorn's sans-I/O WebSocket protocol with a direct frame writer for the hub.

Through ASGI every frame is one ``await send(...)`` down Starlette's wrappers and one
``transport.write`` (one system call) in uvicorn; a connection also needed a writer task
per burst to make those awaits. The hub queues frames without awaiting anybody
(chatserver/connection.py), so it can hand a socket everything queued in one loop turn at
once: :meth:`FrameProtocol.write_frames` frames them with the same ``websockets``
``ServerProtocol`` uvicorn uses and writes them in one ``transport.write``. Everything else
(handshake, keepalive pings, close, flow control) stays uvicorn's; while the transport's
buffer is over its high-water mark the connection falls back to ASGI ``send``, which waits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

# The ASGI scope extension under which a socket's protocol offers itself to the endpoint.
EXTENSION = "chatserver.frame_writer"


class FrameProtocol(WebSocketsSansIOProtocol):
    """Pass as uvicorn's ``ws`` protocol class (chatserver/cli.py)."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope: dict[str, Any] | None = getattr(self, "scope", None)
        if scope is not None:  # None: the handshake was refused
            scope["extensions"][EXTENSION] = self

    def frames_writable(self) -> bool:
        """True when frames may be written now without waiting for the client to read."""
        return (
            self.handshake_complete
            and self.initial_response is None
            and not self.close_sent
            and not self.disconnected
            and self.writable.is_set()
            and not self.transport.is_closing()
        )

    def write_frames(self, frames: Iterable[str | bytes]) -> None:
        """Frame text (str) and binary (bytes) messages and write them in one system call.
        Call only when :meth:`frames_writable`; raises if the connection closed meanwhile."""
        conn = self.conn
        for data in frames:
            if isinstance(data, str):
                conn.send_text(data.encode())
            else:
                conn.send_binary(data)
        self.transport.write(b"".join(conn.data_to_send()))


def frame_writer(scope: Mapping[str, Any]) -> FrameProtocol | None:
    """The socket's direct writer, or None when served by another protocol (tests' clients
    through Starlette's TestClient, another ASGI server)."""
    found = scope.get("extensions", {}).get(EXTENSION)
    return found if isinstance(found, FrameProtocol) else None


def uvicorn_ws_options(max_frame_bytes: int) -> dict[str, Any]:
    """The WebSocket options chatserver runs uvicorn with (the CLI and the tests' servers)."""
    return {
        "ws": FrameProtocol,
        "ws_per_message_deflate": False,
        "ws_max_size": max_frame_bytes * 4,
    }
