"""The agent console's frames beyond chatting: private notes, transfers and reopening.

:func:`console_action` is called by the agent endpoint for frame types it does not handle
itself. Every step is one script that re-checks, atomically, who holds the conversation and
whether the receiving agent can take it, so the checks here only shape the request.
"""

from __future__ import annotations

from typing import Any

from chatserver.connection import AgentConn
from chatserver.core.departments import parse_departments
from chatserver.frames import ack_frame
from chatserver.messages import Outgoing
from chatserver.protocol import ProtocolError
from chatserver.services import Services
from chatserver.store import Store, StoreError

CONSOLE_FRAMES = frozenset({"note", "transfer", "reopen", "snooze", "label"})

# The longest snooze: a chat snoozed for longer is one to resolve.
MAX_SNOOZE_MS = 30 * 24 * 3600 * 1000

_REFUSALS = {
    "agent_unavailable": "that agent is not online now",
    "capacity": "that agent has no free capacity",
    "forbidden": "that conversation is not yours",
    "not_found": "no such conversation",
    "closed": "the conversation is closed",
    "conflict": "only a chat that waits on the visitor can be snoozed",
    "unknown_label": "the site has no such label",
}


def site_departments(site: dict[str, str] | None, queued: list[str]) -> list[str]:
    """The departments a chat can be sent to: the site's list and any existing queue's."""
    names = set(parse_departments((site or {}).get("departments")))
    return sorted(names | {d for d in queued if d})


async def team_members(store: Store, site: str) -> list[dict[str, Any]]:
    """The site's agents as the console's transfer dialog and the REST API show them
    (status, load and capacity as routing sees them), in no particular order."""
    members = []
    for snap in await store.agent_snapshots(site):
        state = await store.agent_state(site, snap.agent_id)
        members.append(
            {
                "id": snap.agent_id,
                "name": state.get("name", ""),
                "status": snap.status if snap.present else "offline",
                "load": snap.load,
                "capacity": snap.capacity,
                "departments": sorted(snap.departments),
                "available": snap.available,
            }
        )
    return members


async def console_action(services: Services, conn: AgentConn, f: dict[str, Any]) -> None:
    """Serve one ``note`` / ``transfer`` / ``reopen`` frame (see docs/protocol.md)."""
    ftype, conv_id = f["type"], f["conversation_id"]
    try:
        if ftype == "note":
            await _note(services, conn, f)
        elif ftype == "transfer":
            await _transfer(services, conn, f)
        elif ftype == "snooze":
            await _snooze(services, conn, f)
        elif ftype == "label":
            await _label(services, conn, f)
        elif ftype == "reopen":
            await services.store.agent_reopen(
                conn.site, conv_id, conn.agent_id, services.hub.clock()
            )
    except StoreError as exc:
        if ftype == "note" or exc.code not in _REFUSALS:
            raise
        ref = f.get("client_id") or conv_id
        code = "conversation_closed" if exc.code == "closed" else exc.code
        message = _REFUSALS[exc.code]
        if exc.code == "unknown_label":
            raise ProtocolError("invalid_field", message, field="label_id", ref=ref) from None
        if exc.detail == "erased":
            message = "the person's data was erased: the chat cannot be taken up again"
        raise ProtocolError(code, message, ref=ref) from None


def written(
    conn: AgentConn, f: dict[str, Any], kind: str, now: int, file_meta: str = ""
) -> Outgoing:
    """What the agent of ``conn`` writes with frame ``f`` (a message, a note, a whisper);
    a message may carry a file (``file_meta``: its metadata, chatserver/files/)."""
    return Outgoing(
        conn.site,
        f["conversation_id"],
        kind,
        conn.agent_id,
        conn.name,
        f["client_id"],
        f.get("text", ""),
        now,
        f.get("file", "") if file_meta else "",
        file_meta,
    )


async def _note(services: Services, conn: AgentConn, f: dict[str, Any]) -> None:
    res = await services.store.add_note(written(conn, f, "note", services.hub.clock()))
    conn.send(ack_frame(f["client_id"], f["conversation_id"], res))


async def _snooze(services: Services, conn: AgentConn, f: dict[str, Any]) -> None:
    now, until, conv_id = services.hub.clock(), f["until"], f["conversation_id"]
    if until and not now < until <= now + MAX_SNOOZE_MS:
        raise ProtocolError(
            "invalid_field",
            "until must be within the next 30 days, or 0 to end the snooze",
            field="until",
            ref=conv_id,
        )
    try:
        await services.store.snooze(conn.site, conv_id, conn.agent_id, conn.name, until, now)
    except StoreError as exc:
        if exc.code == "conflict" and exc.detail == "not_snoozed":
            raise ProtocolError("conflict", "that chat is not snoozed", ref=conv_id) from None
        raise


async def _label(services: Services, conn: AgentConn, f: dict[str, Any]) -> None:
    """Add or remove one label. Every agent socket following the chat (this one too) is told
    through the site's channel when the labels changed; this socket is answered directly when
    nothing changed or it does not follow the chat. Supervisors and admins label any
    conversation of the site, agents those they hold or joined."""
    conv_id = f["conversation_id"]
    role = conn.account.get("role", "agent")
    ids, changed = await services.store.change_labels(
        conn.site,
        conv_id,
        f["action"],
        [f["label_id"]],
        "" if role in ("supervisor", "admin") else conn.agent_id,
    )
    if not changed or conv_id not in conn.follows:
        conn.send({"type": "labels", "conversation_id": conv_id, "labels": ids})


async def require_department(store: Store, site: str, department: str, conv_id: str) -> None:
    """Refuse (invalid_field) a department the site does not offer; "" is the general queue."""
    if not department:
        return
    allowed = site_departments(await store.get_site(site), await store.departments(site))
    if department not in allowed:
        raise ProtocolError("invalid_field", "no such department", field="department", ref=conv_id)


async def _transfer(services: Services, conn: AgentConn, f: dict[str, Any]) -> None:
    store, conv_id, note = services.store, f["conversation_id"], f.get("note", "")
    to_agent = f.get("agent_id")
    if (to_agent is None) == ("department" not in f):
        raise ProtocolError(
            "invalid_field", "transfer needs agent_id or department", field="agent_id", ref=conv_id
        )
    now = services.hub.clock()
    if to_agent is not None:
        if to_agent == conn.agent_id:
            raise ProtocolError(
                "invalid_field", "that conversation is already yours", field="agent_id", ref=conv_id
            )
        await store.transfer_to_agent(
            conn.site,
            conv_id,
            conn.agent_id,
            conn.name,
            to_agent,
            note,
            now,
            await services.hub.lifecycle.policy(conn.site),
        )
        return
    department = f["department"]
    await require_department(store, conn.site, department, conv_id)
    await store.transfer_to_department(
        conn.site, conv_id, conn.agent_id, conn.name, department, note, now
    )
