"""Simulated visitors and agents speaking Socket.IO v5 over Engine.IO v4 to the baseline relay.

python-socketio's own AsyncClient costs a task, a queue and a ping loop per client and runs
each event through several layers: too heavy for hundreds of clients in the generator, whose
CPU is shared with the servers it measures. The framing over a WebSocket is tiny, so these
clients speak it on :class:`~bench.wsclient.WsConnection` like chatserver's simulated clients,
and the two runs measure the servers rather than two client libraries:

- the URL is ``/socket.io/?EIO=4&transport=websocket`` (WebSocket from the start, no polling);
- the server opens with ``0{"sid":..., "pingInterval":...}``; the client answers ``40`` plus
  its auth JSON (CONNECT to the default namespace) and gets ``40{"sid":...}`` (or ``44{...}``,
  CONNECT_ERROR); ``2`` is the server's ping, answered with ``3``;
- an event is ``42["name",data]`` in either direction, one packet per WebSocket message.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from websockets.protocol import State

from bench.loadgen import Node, Peer
from bench.tracker import Msg, Tracker, now
from bench.wsclient import CloseHandler, FrameHandler, WsConnection, establish

PATH = "/socket.io/?EIO=4&transport=websocket"


class SioConnection(WsConnection):
    """A WebSocket carrying Engine.IO/Socket.IO packets.

    ``send`` takes the same dicts as chatserver's clients: ``{"type": "hello", "auth": ...}``
    becomes the CONNECT packet (sent once the server's OPEN arrived); any other dict is the
    data of a ``message`` event. Received events reach ``on_frame`` as their data dict with
    ``type`` set to the event name; the CONNECT answer arrives as ``{"type": "welcome"}``.
    """

    def __init__(self, url: str, on_frame: FrameHandler, on_close: CloseHandler | None) -> None:
        super().__init__(url, on_frame, on_close)
        self.engine_open = False
        self._connect_packet: bytes | None = None

    def send(self, frame: dict[str, Any]) -> bool:
        if frame.get("type") == "hello":
            self._connect_packet = b"40" + orjson.dumps(frame.get("auth") or {})
            if self.engine_open:
                return self._write(self._connect_packet)
            return True
        return self._write(b'42["message",' + orjson.dumps(frame) + b"]")

    def _write(self, packet: bytes) -> bool:
        if self.closed or self.protocol.state is not State.OPEN:
            return False
        self.protocol.send_text(packet)
        self._flush()
        return True

    def _deliver(self, data: bytes, binary: bool) -> None:
        try:
            self._on_packet(data)
        except Exception as exc:  # a malformed packet or a generator bug: count, go on
            self.handler_errors += 1
            self.last_error = repr(exc)

    def _on_packet(self, data: bytes) -> None:
        kind = data[:1]
        if kind == b"4":  # Engine.IO MESSAGE: a Socket.IO packet follows
            sio = data[1:2]
            if sio == b"2":
                event, payload = orjson.loads(data[2:])[:2]
                if isinstance(payload, dict):
                    payload["type"] = event
                    self.on_frame(payload)
            elif sio == b"0":
                self.on_frame({"type": "welcome", **orjson.loads(data[2:] or b"{}")})
            elif sio == b"4":
                self.on_frame({"type": "error", "code": "connect_error", "data": data[2:].decode()})
            elif sio == b"1":
                self.close()
        elif kind == b"2":  # ping: the server drops clients that do not answer
            self._write(b"3")
        elif kind == b"0":  # OPEN: the server is ready for our CONNECT
            self.engine_open = True
            if self._connect_packet is not None:
                self._write(self._connect_packet)
        elif kind == b"1":
            self.close()


class SioPeer(Peer):
    """A socket.io client: connects with ``auth`` (its rooms), books sends and receipts by
    client_id. A send stays pending until its echo comes back (the server relayed it), which
    is what the pacer's in-flight limit counts for this protocol."""

    def __init__(self, index: int, tracker: Tracker, nodes: list[Node], node: int) -> None:
        super().__init__(index, tracker, nodes)
        self.node = node
        self.last_seq: dict[str, int] = {}  # sender name -> last sequence number received

    def auth(self) -> dict[str, Any]:
        raise NotImplementedError

    def hello(self) -> dict[str, Any]:
        return {"type": "hello", "auth": self.auth()}

    async def dial(self, host: str, port: int, timeout: float) -> WsConnection:
        conn = SioConnection(f"ws://{host}:{port}{PATH}", self.on_frame, self._on_close)
        return await establish(conn, host, port, timeout)

    def emit(self, conv: str, text: str, measured: bool | None, kind: str) -> Msg:
        cid = self.next_client_id()
        rec = self.tracker.new(cid, kind, measured)
        rec.conv = conv
        self.send({"conversation_id": conv, "client_id": cid, "text": text, "ts": time.time()})
        return rec

    def _on_message(self, f: dict[str, Any]) -> None:
        cid = f.get("client_id", "")
        rec = self.tracker.msgs.get(cid)
        if rec is None:
            self.tracker.unknown += 1
            return
        sender, _, seq_text = cid.rpartition(".")
        seq = int(seq_text)
        if seq <= self.last_seq.get(sender, 0):
            if (rec.t_echo if rec.kind == self.role else rec.t_other) is None:
                self.tracker.out_of_order += 1
        else:
            self.last_seq[sender] = seq
        if rec.kind == self.role:  # our own message, relayed back to us
            if rec.t_echo is not None:
                self.tracker.duplicate(self.name, f)
                return
            rec.t_echo = now()
            self.tracker.echoed += 1
            self.pending.pop(cid, None)
        else:
            if rec.t_other is not None:
                self.tracker.duplicate(self.name, f)
                return
            rec.t_other = now()
            self.tracker.delivered += 1
            self.on_other(rec, f["conversation_id"])


class SioVisitor(SioPeer):
    role = "visitor"

    def __init__(
        self, index: int, tracker: Tracker, nodes: list[Node], node: int, agent: int
    ) -> None:
        super().__init__(index, tracker, nodes, node)
        self.conv_id = f"c{index}"
        self.agent = agent

    def auth(self) -> dict[str, Any]:
        return {"role": "visitor", "conversation_id": self.conv_id}

    def say(self, text: str, measured: bool | None = None) -> Msg:
        return self.emit(self.conv_id, text, measured, "visitor")


class SioAgent(SioPeer):
    role = "agent"

    def __init__(self, index: int, tracker: Tracker, nodes: list[Node], node: int) -> None:
        super().__init__(index, tracker, nodes, node)
        self.conversations: list[str] = []

    def auth(self) -> dict[str, Any]:
        return {"role": "agent", "conversations": self.conversations}

    def on_other(self, rec: Msg, conv_id: str) -> None:
        if self.tracker.replies:
            self.emit(conv_id, "On it.", rec.measured, "agent")
