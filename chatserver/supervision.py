"""Supervisors' frames on the agent socket: monitor, unmonitor, whisper, join, leave and
take_over (docs/protocol.md, Supervision).

:func:`supervision_action` is called by the agent endpoint for these frame types. The role is
checked here (it comes from the signed-in account); every step on the conversation is one
script that checks its state atomically (chatserver/store/supervision.py).
"""

from __future__ import annotations

from typing import Any

from chatserver.agent_actions import require_department, written
from chatserver.connection import AgentConn
from chatserver.frames import ack_frame, conversation_summary, participants
from chatserver.protocol import ProtocolError
from chatserver.services import Services
from chatserver.store import StoreError

SUPERVISION_FRAMES = frozenset({"monitor", "unmonitor", "whisper", "join", "leave", "take_over"})

_REFUSALS = {
    ("join", "queued"): "it is waiting in the queue: claim it or take it over",
    ("join", "joined"): "you are in that conversation already",
    ("leave", "not_joined"): "you have not joined that conversation",
    ("take_over", "queued"): "it is waiting in the queue: claim it",
    ("take_over", "*"): "someone else moved that conversation first",
}
_MESSAGES = {
    "not_found": "no such conversation",
    "closed": "the conversation is closed",
    "capacity": "that agent has no free capacity",
    "agent_unavailable": "that agent is not online now",
}


async def supervision_action(services: Services, conn: AgentConn, f: dict[str, Any]) -> None:
    """Serve one supervision frame; refusals become ``error`` frames with the documented
    codes (``ref``: the client id of a whisper, else the conversation id)."""
    ftype, conv_id = f["type"], f["conversation_id"]
    ref = f.get("client_id") or conv_id
    if not conn.supervises:
        raise ProtocolError("forbidden", "only supervisors and admins can do that", ref=ref)
    try:
        if ftype == "monitor":
            await _monitor(services, conn, conv_id, f.get("after"))
        elif ftype == "unmonitor":
            await _unmonitor(services, conn, conv_id)
        elif ftype == "whisper":
            await _whisper(services, conn, f)
        elif ftype in ("join", "leave"):
            await _join_or_leave(services, conn, ftype, conv_id)
        elif ftype == "take_over":
            await _take_over(services, conn, f)
    except StoreError as exc:
        raise _refusal(ftype, exc, ref) from None


def _refusal(ftype: str, exc: StoreError, ref: str) -> ProtocolError:
    if exc.code == "conflict":
        why = _REFUSALS.get((ftype, exc.detail)) or _REFUSALS.get((ftype, "*"), "conflict")
        return ProtocolError("conflict", why, ref=ref)
    code = "conversation_closed" if exc.code == "closed" else exc.code
    return ProtocolError(code, _MESSAGES.get(exc.code, exc.code), ref=ref)


async def _monitor(services: Services, conn: AgentConn, conv_id: str, after: str | None) -> None:
    store, hub = services.store, services.hub
    await store.supervise(conn.site, conv_id, "monitor", conn.agent_id, conn.name, hub.clock())
    conv = await store.get_conversation(conn.site, conv_id)
    if conv is None:  # gone in between (it never is: conversations are not deleted)
        raise ProtocolError("not_found", "no such conversation", ref=conv_id)
    visitor = await store.load_visitor(conn.site, conv.get("visitor", ""))
    conn.monitoring.add(conv_id)
    conn.send(
        {
            "type": "monitoring",
            "conversation_id": conv_id,
            "conversation": conversation_summary(conv, visitor),
        }
    )
    await hub.track(conn, conv_id, after)


async def _unmonitor(services: Services, conn: AgentConn, conv_id: str) -> None:
    store, hub = services.store, services.hub
    await store.supervise(conn.site, conv_id, "unmonitor", conn.agent_id, conn.name, hub.clock())
    conn.monitoring.discard(conv_id)
    conv = await store.get_conversation(conn.site, conv_id) or {}
    joined = any(p["id"] == conn.agent_id for p in participants(conv))
    if conv.get("agent") != conn.agent_id and not joined:
        hub.untrack(conn, conv_id)
    conn.send({"type": "unmonitored", "conversation_id": conv_id})


async def _whisper(services: Services, conn: AgentConn, f: dict[str, Any]) -> None:
    res = await services.store.whisper(written(conn, f, "whisper", services.hub.clock()))
    conn.send(ack_frame(f["client_id"], f["conversation_id"], res))


async def _join_or_leave(services: Services, conn: AgentConn, action: str, conv_id: str) -> None:
    store, hub = services.store, services.hub
    await store.supervise(conn.site, conv_id, action, conn.agent_id, conn.name, hub.clock())
    if action == "join":
        # A participant follows the conversation (as a monitor does, and stays so after
        # leaving): the system message `joined` is its reply.
        conn.monitoring.add(conv_id)
        if conv_id not in conn.follows:
            await hub.track(conn, conv_id, None)


async def _take_over(services: Services, conn: AgentConn, f: dict[str, Any]) -> None:
    store, hub, conv_id = services.store, services.hub, f["conversation_id"]
    to_agent = f.get("to_agent_id")
    department = f.get("department")
    if to_agent is not None and department is not None:
        raise ProtocolError(
            "invalid_field",
            "give to_agent_id or department, not both",
            field="department",
            ref=conv_id,
        )
    if department is not None:
        await require_department(store, conn.site, department, conv_id)
    await store.take_over(
        conn.site,
        conv_id,
        conn.agent_id,
        conn.name,
        f["from_agent_id"],
        hub.clock(),
        target_id="" if department is not None else (to_agent or conn.agent_id),
        department=department or "",
        policy=await hub.lifecycle.policy(conn.site),
    )
