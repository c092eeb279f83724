"""Simulated visitors and agents that speak the real protocol, and the book of every message.

Each simulated client is a :class:`Peer` over one :class:`~bench.wsclient.WsConnection`. It
says ``hello``, sends ``message`` frames with its own ``client_id``, keeps every unacked frame
to retry it after a reconnect, and follows each conversation's cursor (the last message id it
saw) so it can resume on any node. Every message it sends or receives is booked in the
shared :class:`~bench.tracker.Tracker`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from bench.tracker import Msg, Tracker, now
from bench.wsclient import HandshakeError, WsConnection, connect

Node = tuple[str, int]  # host, port


def _key(msg_id: str) -> tuple[int, int]:
    ms, _, seq = msg_id.partition("-")
    return int(ms), int(seq or 0)


class Peer:
    """State shared by simulated visitors and agents: connection, cursors, pending sends."""

    role = ""

    def __init__(
        self, index: int, tracker: Tracker, nodes: list[Node], msgpack_format: bool = False
    ) -> None:
        self.index = index
        self.name = f"{self.role[0]}{index}"
        self.tracker = tracker
        self.nodes = nodes
        self.node = index % len(nodes)  # alternate across the server processes
        self.msgpack = msgpack_format
        self.conn: WsConnection | None = None
        self.ready = False
        self.stopping = False
        self.reconnecting = False
        self.pending: dict[str, dict[str, Any]] = {}  # client_id -> frame, until acked
        self.seen: dict[str, set[str]] = {}  # conversation -> ids received (any connection)
        self.last: dict[str, tuple[int, int]] = {}
        self.cursor: dict[str, str] = {}  # conversation -> last id received
        self.seq = 0
        self.t_open: float | None = None
        self.t_welcome: float | None = None
        self.t_pong: float | None = None
        self._welcome: asyncio.Future[dict[str, Any]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "message": self._on_message,
            "ack": self._on_ack,
            "welcome": self._on_welcome,
            "error": self._on_error,
            "reconnect": self._on_reconnect,
            "pong": self._on_pong,
        }

    # --- to override ----------------------------------------------------------------------
    def path(self) -> str:
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        return {}

    def hello(self) -> dict[str, Any]:
        raise NotImplementedError

    def on_system(self, frame: dict[str, Any]) -> None:
        """A system message (assigned, resolved, ...) in a conversation."""

    def on_other(self, rec: Msg, conv_id: str) -> None:
        """The first receipt of a message the other side sent."""

    # --- connection -----------------------------------------------------------------------
    async def open(self, timeout: float = 15.0) -> dict[str, Any]:
        """Connect to the current node, say hello, wait for welcome, resend unacked frames."""
        host, port = self.nodes[self.node]
        if self.t_open is None:
            self.t_open = now()
        self._welcome = asyncio.get_running_loop().create_future()
        conn = await self.dial(host, port, timeout)
        self.conn = conn
        conn.send(self.hello())
        try:
            welcome = await asyncio.wait_for(asyncio.shield(self._welcome), timeout)
        except BaseException:
            conn.abort()
            raise
        return welcome

    async def dial(self, host: str, port: int, timeout: float) -> WsConnection:
        """Open the WebSocket (handshake done); the protocol's hello comes next."""
        return await connect(
            host,
            port,
            self.path(),
            self.on_frame,
            self._on_close,
            self.headers(),
            self.msgpack,
            skip_queue_frames=self.role == "agent",
            timeout=timeout,
        )

    def close(self) -> None:
        self.stopping = True
        if self.conn is not None:
            self.conn.close()
        for task in self._tasks:
            task.cancel()

    def abort(self) -> None:
        self.stopping = True
        if self.conn is not None:
            self.conn.abort()

    def _on_close(self, conn: WsConnection) -> None:
        if conn is not self.conn:
            return
        self.conn = None
        self.ready = False
        if not conn.closing and not self.stopping:
            self.tracker.close_codes[str(conn.close_code)] += 1
            self._schedule_reconnect(0.1)

    def _schedule_reconnect(self, delay: float) -> None:
        if self.stopping or self.reconnecting:
            return
        self.reconnecting = True
        self.tracker.reconnects += 1
        task = asyncio.get_running_loop().create_task(self._reconnect(delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reconnect(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30.0
        try:
            while not self.stopping:
                await asyncio.sleep(delay)
                self.node = (self.node + 1) % len(self.nodes)  # any node will do
                try:
                    await self.open()
                    return
                except (OSError, HandshakeError, TimeoutError):
                    if loop.time() > deadline:
                        self.tracker.reconnect_failures += 1
                        return
                    delay = min(delay * 2, 2.0)
        finally:
            self.reconnecting = False

    def send(self, frame: dict[str, Any]) -> None:
        """Send a frame that carries a client_id; it is kept until acked."""
        self.pending[frame["client_id"]] = frame
        if self.conn is not None and self.ready:
            self.conn.send(frame)

    def send_raw(self, frame: dict[str, Any]) -> bool:
        return self.conn is not None and self.conn.send(frame)

    def next_client_id(self) -> str:
        self.seq += 1
        return f"{self.name}.{self.seq}"

    # --- frames ---------------------------------------------------------------------------
    def on_frame(self, frame: dict[str, Any]) -> None:
        handler = self._handlers.get(frame.get("type", ""))
        if handler is None:
            return
        try:
            handler(frame)
        except Exception as exc:  # a malformed frame or a generator bug: count, go on
            self.tracker.handler_errors[f"{frame.get('type')}: {exc!r}"[:200]] += 1

    def _on_welcome(self, frame: dict[str, Any]) -> None:
        self.ready = True
        if self.t_welcome is None:
            self.t_welcome = now()
        if self.conn is not None:
            for pending in list(self.pending.values()):  # unacked before a reconnect: retry
                self.conn.send(pending)
        if self._welcome is not None and not self._welcome.done():
            self._welcome.set_result(frame)

    def _on_message(self, f: dict[str, Any]) -> None:
        mid: str = f["id"]
        conv: str = f["conversation_id"]
        seen = self.seen.get(conv)
        if seen is None:
            seen = self.seen[conv] = set()
        if mid in seen:
            self.tracker.duplicate(self.name, f)
            return
        seen.add(mid)
        key = _key(mid)
        if key < self.last.get(conv, (0, 0)):
            self.tracker.out_of_order += 1
        else:
            self.last[conv] = key
            self.cursor[conv] = mid
        kind = f["from"]
        if kind == "system":
            self.on_system(f)
            return
        rec = self.tracker.msgs.get(f.get("client_id", ""))
        if rec is None:
            self.tracker.unknown += 1
            return
        if kind == self.role:
            if rec.t_echo is None:
                rec.t_echo = now()
                self.tracker.echoed += 1
        elif rec.t_other is None:
            rec.t_other = now()
            self.tracker.delivered += 1
            self.on_other(rec, conv)

    def _on_ack(self, f: dict[str, Any]) -> None:
        cid = f["client_id"]
        self.pending.pop(cid, None)
        rec = self.tracker.msgs.get(cid)
        if rec is None:
            return
        if f.get("duplicate"):
            self.tracker.dup_acks += 1
        if rec.t_ack is None:
            rec.t_ack = now()
            rec.id = f["id"]
            rec.conv = f["conversation_id"]
            self.tracker.acked += 1

    def _on_error(self, f: dict[str, Any]) -> None:
        code = str(f.get("code"))
        self.tracker.errors[code] += 1
        ref = f.get("ref")
        if code == "unavailable" and isinstance(ref, str) and ref in self.pending:
            # Nothing was stored: retry the same client_id a little later.
            asyncio.get_running_loop().call_later(0.2, self._resend, ref)

    def _resend(self, cid: str) -> None:
        frame = self.pending.get(cid)
        if frame is not None and self.conn is not None and self.ready:
            self.conn.send(frame)

    def _on_reconnect(self, f: dict[str, Any]) -> None:
        conn = self.conn
        if conn is None or self.stopping:
            return
        conn.closing = True  # our close: _on_close must not schedule a second reconnect
        conn.close()
        self.conn = None
        self.ready = False
        self._schedule_reconnect(max(0.0, float(f.get("after_ms", 250)) / 1000))

    def _on_pong(self, f: dict[str, Any]) -> None:
        self.t_pong = now()


class Visitor(Peer):
    role = "visitor"

    def __init__(
        self, index: int, tracker: Tracker, nodes: list[Node], msgpack_format: bool = False
    ) -> None:
        super().__init__(index, tracker, nodes, msgpack_format)
        self.token = ""
        self.conv_id: str | None = None
        self.t_first_send: float | None = None
        self.t_first_queue: float | None = None
        self.t_assigned: float | None = None
        self.queue_frames = 0
        self.max_position = 0
        self.resolved = False
        self._handlers["assigned"] = self._on_assigned
        self._handlers["queue"] = self._on_queue
        self._handlers["resolved"] = self._on_resolved

    def path(self) -> str:
        return "/ws/visitor?site=demo"

    def hello(self) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "hello", "page": {"url": "https://bench.test/"}}
        if self.token:
            frame["token"] = self.token
        if self.conv_id and self.conv_id in self.cursor:
            frame["cursor"] = self.cursor[self.conv_id]
        return frame

    def say(self, text: str, measured: bool | None = None) -> Msg:
        cid = self.next_client_id()
        rec = self.tracker.new(cid, "visitor", measured)
        if self.t_first_send is None:
            self.t_first_send = rec.t_send
        self.send({"type": "message", "client_id": cid, "text": text})
        return rec

    def _on_welcome(self, frame: dict[str, Any]) -> None:
        self.token = frame.get("token") or self.token
        conv = frame.get("conversation")
        if isinstance(conv, dict) and conv.get("id"):
            self.conv_id = conv["id"]
        super()._on_welcome(frame)

    def _on_ack(self, f: dict[str, Any]) -> None:
        self.conv_id = f.get("conversation_id") or self.conv_id
        super()._on_ack(f)

    def _on_assigned(self, f: dict[str, Any]) -> None:
        if self.t_assigned is None:
            self.t_assigned = now()

    def _on_queue(self, f: dict[str, Any]) -> None:
        self.queue_frames += 1
        if self.t_first_queue is None:
            self.t_first_queue = now()
        self.max_position = max(self.max_position, int(f.get("position") or 0))

    def _on_resolved(self, f: dict[str, Any]) -> None:
        self.resolved = True


class Agent(Peer):
    role = "agent"

    def __init__(
        self,
        index: int,
        tracker: Tracker,
        nodes: list[Node],
        token: str,
        msgpack_format: bool = False,
        resolve_after: float = 0.0,
    ) -> None:
        super().__init__(index, tracker, nodes, msgpack_format)
        self.token = token
        self.resolve_after = resolve_after
        self.conversations: set[str] = set()
        self.synced: set[str] = set()
        self.resolved = 0
        self._handlers["assigned"] = self._on_assigned
        self._handlers["synced"] = self._on_synced

    def path(self) -> str:
        return "/ws/agent"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def hello(self) -> dict[str, Any]:
        return {"type": "hello", "cursors": dict(self.cursor), "status": "online"}

    def on_other(self, rec: Msg, conv_id: str) -> None:
        if not self.tracker.replies:
            return
        cid = self.next_client_id()
        self.tracker.new(cid, "agent", rec.measured)
        self.send(
            {"type": "message", "conversation_id": conv_id, "client_id": cid, "text": "On it."}
        )

    def _on_assigned(self, f: dict[str, Any]) -> None:
        conv_id = f["conversation_id"]
        self.conversations.add(conv_id)
        if self.resolve_after > 0:
            asyncio.get_running_loop().call_later(self.resolve_after, self._resolve, conv_id)

    def _resolve(self, conv_id: str) -> None:
        if self.send_raw({"type": "resolve", "conversation_id": conv_id}):
            self.resolved += 1

    def _on_synced(self, f: dict[str, Any]) -> None:
        self.synced.add(f["conversation_id"])


P = TypeVar("P", bound=Peer)


async def open_all(
    peers: Iterable[P], concurrency: int = 50, after: Callable[[P], None] | None = None
) -> list[str]:
    """Open every peer, ``concurrency`` at a time, then call ``after`` on it; returns the
    failures ("peer: error")."""
    sem = asyncio.Semaphore(concurrency)
    failures: list[str] = []

    async def one(peer: P) -> None:
        async with sem:
            try:
                await peer.open()
            except (OSError, HandshakeError, TimeoutError) as exc:
                failures.append(f"{peer.name}: {exc!r}")
                return
        if after is not None:
            after(peer)

    await asyncio.gather(*(one(p) for p in peers))
    return failures


async def close_all(peers: Iterable[Peer], grace: float = 3.0) -> None:
    """Close every socket (closing handshake), then abort what is still open."""
    peers = list(peers)
    for peer in peers:
        peer.close()
    deadline = asyncio.get_running_loop().time() + grace
    while any(p.conn is not None and not p.conn.closed for p in peers):
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    for peer in peers:
        with contextlib.suppress(Exception):
            peer.abort()


async def wait_until(cond: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll ``cond`` until it holds or ``timeout`` seconds pass; returns whether it held."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(step)
    return True
