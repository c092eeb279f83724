"""Site events about agents' accounts, published by the admin pages, for :class:`Hub`.

(A transfer away from an agent publishes ``["x", conv_id, agent_id, event]``, which the hub
handles like any other loss of a chat: ``unassigned`` to the agent's sockets.)

The hub hands these kinds to :func:`on_console_event`:

- ``["k", agent_id]``: the account was deactivated; its sockets are closed (4401).
- ``["ac", agent_id]``: an admin changed the account (capacity, role, departments); open
  sockets pick it up and the agent's routing state is recorded again.
- ``["lo", agent_id, session digest]``: the agent signed out of that session; its sockets
  are closed (4401), so the agent takes no new chats once the last one is gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatserver.close_codes import CloseCode
from chatserver.protocol import ProtocolError

if TYPE_CHECKING:
    from chatserver.connection import AgentConn
    from chatserver.hub import Hub

CONSOLE_EVENTS = frozenset({"k", "ac", "lo"})


def on_console_event(hub: Hub, site: str, ev: list[Any]) -> None:
    kind = ev[0]
    if kind == "k":
        for conn in list(hub.agents.get((site, str(ev[1])), ())):
            hub.spawn(_close(conn, "your account was deactivated"))
    elif kind == "ac":
        hub.spawn(_reload_account(hub, site, str(ev[1])))
    elif kind == "lo":
        for conn in list(hub.agents.get((site, str(ev[1])), ())):
            if conn.session == ev[2]:
                hub.spawn(_close(conn, "you signed out"))


async def _close(conn: AgentConn, why: str) -> None:
    conn.send(ProtocolError("unauthorized", why).frame())
    await conn.flush(1.0)
    conn.close(CloseCode.UNAUTHORIZED)


async def _reload_account(hub: Hub, site: str, agent_id: str) -> None:
    conns = list(hub.agents.get((site, agent_id), ()))
    if not conns:
        return
    account = await hub.store.get_account(agent_id)
    if account is None or account.get("active", "1") != "1" or account.get("site") != site:
        for conn in conns:
            await _close(conn, "your account changed; sign in again")
        return
    for conn in conns:
        conn.account, conn.name = account, account.get("name", "")
    await hub.record_agent(conns[0], conns[0].status)
