"""The baseline: the chat relay as a Python developer would write it with python-socketio.

Run as ``python -m bench.baselines.socketio_relay --redis-url URL --port-file FILE``. Several
such processes on one Redis form a cluster through ``socketio.AsyncRedisManager``: every emit
is published on one Redis channel and each process delivers it to its own members of the room.

Semantics, the same relay as chatserver's steady scenario minus everything that makes a chat
durable: a client connects with ``auth`` naming its role and conversation(s) and is put in the
rooms ``conv:<id>`` of those conversations (a visitor in one, an agent in each it was given;
assignment is static, decided by the load generator, since socket.io has no queue or
routing). A client emits ``message`` ``{conversation_id, client_id, text, ts}`` and the server
emits it to that conversation's room, the sender included (its echo). Nothing is stored, no
id is assigned and nothing is acknowledged: a message emitted while the other side is
disconnected, or while Redis is unreachable, is gone.

Its best configuration, so that the comparison is fair to it: uvicorn with uvloop and
httptools, the WebSocket transport only (no long-polling start and upgrade), no per-message
deflate, no HTTP compression, logging off, handlers run inline (``async_handlers=False``: no
task per event, and a client's events are relayed in the order it sent them), the Redis
subscription made at start-up rather than at the first client. Measured on the development
machine: the library's default ``async_handlers=True`` collapses under overload (at a target
of 5,000 msg/s a task per event piles up, concurrent publishes open ever more Redis
connections, log "Cannot publish to redis... retrying" and lose messages); uvicorn's
``websockets-sansio`` protocol beat ``wsproto`` and the legacy ``websockets`` one.
"""

from __future__ import annotations

import argparse
import os
import socket
from typing import Any

import socketio
import uvicorn

CHANNEL = "socketio"


def build_app(redis_url: str) -> tuple[Any, socketio.AsyncServer]:
    """The ASGI application (Socket.IO under /socket.io/, /readyz beside it) and its server."""
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=socketio.AsyncRedisManager(redis_url, channel=CHANNEL),
        transports=["websocket"],
        allow_upgrades=False,
        http_compression=False,
        cors_allowed_origins="*",
        async_handlers=False,
        logger=False,
        engineio_logger=False,
    )

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None) -> bool:
        if not isinstance(auth, dict):
            return False
        if auth.get("role") == "visitor":
            conversations = [auth.get("conversation_id")]
        elif auth.get("role") == "agent":
            conversations = list(auth.get("conversations") or [])
        else:
            return False
        for conv in conversations:
            if not isinstance(conv, str) or not conv:
                return False
            await sio.enter_room(sid, f"conv:{conv}")
        return True

    @sio.event
    async def message(sid: str, data: Any) -> None:
        if not isinstance(data, dict):
            return
        room = f"conv:{data.get('conversation_id')}"
        if room not in sio.rooms(sid):  # only into a conversation the client is part of
            return
        await sio.emit("message", data, room=room)

    async def readyz(scope: dict[str, Any], receive: Any, send: Any) -> None:
        """200 once this process listens on the Redis channel (cross-process emits arrive)."""
        if scope["type"] != "http":
            return
        pubsub = getattr(sio.manager, "pubsub", None)
        ready = scope["path"] == "/readyz" and bool(pubsub is not None and pubsub.subscribed)
        await send(
            {
                "type": "http.response.start",
                "status": 200 if ready else 503,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok" if ready else b"starting"})

    def subscribe_now() -> None:
        # The manager subscribes lazily, at the first client; a deployment behind a load
        # balancer would rather be ready before it takes traffic.
        sio.manager_initialized = True
        sio.manager.initialize()

    app = socketio.ASGIApp(sio, other_asgi_app=readyz, on_startup=subscribe_now)
    return app, sio


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.baselines.socketio_relay")
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: any free port")
    p.add_argument("--port-file", help="write the bound port here")
    args = p.parse_args(argv)
    app, _ = build_app(args.redis_url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    if args.port_file:  # the generator polls /readyz on it until the process is up
        with open(args.port_file, "w", encoding="ascii") as fh:
            fh.write(str(sock.getsockname()[1]))
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
