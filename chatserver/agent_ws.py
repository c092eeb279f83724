"""The agent WebSocket endpoint: `/ws/agent`, authenticated by session cookie or bearer token."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import RedisError
from starlette.websockets import WebSocket

from chatserver.agent_actions import CONSOLE_FRAMES, console_action, written
from chatserver.close_codes import CloseCode
from chatserver.connection import AgentConn
from chatserver.core.policy import SitePolicy
from chatserver.endpoint import Receipts, choose_format, receive_loop
from chatserver.events import Read, Typing
from chatserver.frames import ack_frame, conversation_summary, participants
from chatserver.limits import refuse
from chatserver.protocol import ZERO_ID, ProtocolError, message_parts
from chatserver.services import Services
from chatserver.sessions import refused, session_account, session_digest, session_token
from chatserver.supervision import SUPERVISION_FRAMES, supervision_action


async def agent_endpoint(ws: WebSocket) -> None:
    services: Services = ws.app.state.services
    fmt, subprotocol = choose_format(ws)
    token = session_token(ws)
    try:
        account, refusal = await session_account(services, token)
    except (RedisError, OSError):
        await ws.close(CloseCode.TRY_AGAIN)
        return
    await ws.accept(subprotocol=subprotocol)
    if account is None or refusal:
        # Accept first so the browser can read why: a refused handshake shows no reason.
        conn = AgentConn(ws, fmt, "agent", "-", 8)
        conn.send(refused(refusal).frame())
        await conn.flush()
        await ws.close(CloseCode.UNAUTHORIZED)
        return
    conn = AgentConn(ws, fmt, "agent", account["site"], services.settings.outbound_queue)
    conn.agent_id, conn.name, conn.account = account["id"], account.get("name", ""), account
    conn.session = session_digest(token or "")
    conn.log = conn.log.bind(agent=conn.agent_id)
    session = AgentSession(services, conn, services.limits.client_ip(ws.scope))
    try:
        await receive_loop(ws, conn, services.agent_codec, services.settings, session.handle)
    finally:
        session.receipts.close()
        services.hub.remove(conn)


class AgentSession:
    def __init__(self, services: Services, conn: AgentConn, ip: str = "") -> None:
        self.s = services
        self.conn = conn
        self.ip = ip
        self.ready = False
        self.receipts = Receipts(conn)

    async def handle(self, f: dict[str, Any]) -> None:
        ftype = f["type"]
        if ftype == "hello":
            if self.ready:
                raise ProtocolError("already_hello", "hello was already received")
            await self.hello(f)
            return
        if not self.ready:
            raise ProtocolError("not_ready", "send hello first")
        conn, store, hub = self.conn, self.s.store, self.s.hub
        if ftype == "message":
            # Stored in arrival order, acknowledged when stored: an agent typing fast in
            # several chats never waits a round trip per message.
            policy = await hub.lifecycle.policy(conn.site)  # before: it may await Redis
            _, file_id = message_parts(f)
            meta = await self.s.files.for_message(conn.site, file_id, f["client_id"])
            await self.receipts.send(f["client_id"], self.store_message(f, policy, meta))
        elif ftype == "typing":
            await self._require_mine(f["conversation_id"])
            event = Typing(f["conversation_id"], "agent", f["state"], "", conn.agent_id, conn.name)
            wait = await self.s.limits.publish_typing(conn.site, conn.agent_id, self.ip, event)
            if wait:
                await refuse(conn, wait, "typing events")
        elif ftype == "read":
            await self._require_mine(f["conversation_id"])
            await store.publish(conn.site, Read(f["conversation_id"], "agent", f["id"]))
        elif ftype == "sync":
            await self._require_mine(f["conversation_id"], watching=True)
            await hub.track(conn, f["conversation_id"], f.get("after") or ZERO_ID)
        elif ftype == "claim":
            await store.claim(
                conn.site,
                f["conversation_id"],
                [conn.agent_id],
                hub.clock(),
                manual=True,
                policy=await hub.lifecycle.policy(conn.site),
            )
        elif ftype == "resolve":
            await store.resolve(
                conn.site, f["conversation_id"], "agent", conn.agent_id, conn.name, hub.clock()
            )
        elif ftype == "status":
            await self.set_status(f["status"])
        elif ftype in CONSOLE_FRAMES:
            await console_action(self.s, conn, f)
        elif ftype in SUPERVISION_FRAMES:
            await supervision_action(self.s, conn, f)
        elif ftype == "ping":
            conn.send({"type": "pong", "server_time": hub.clock()})

    async def store_message(
        self, f: dict[str, Any], policy: SitePolicy, file_meta: str = ""
    ) -> dict[str, Any]:
        """Store one message and return its ack. Its first step queues the script call, so
        calls made in frame order are stored in frame order."""
        conn, hub = self.conn, self.s.hub
        msg = written(conn, f, "agent", hub.clock(), file_meta)
        res = await self.s.store.send_message(msg, policy)
        return ack_frame(f["client_id"], f["conversation_id"], res)

    async def _require_mine(self, conv_id: str, watching: bool = False) -> None:
        """Refuse a conversation that is not this agent's: held, joined (a supervisor), or,
        with ``watching``, monitored. A monitor may follow a chat but not type or read in it."""
        conn = self.conn
        if conv_id in conn.follows and (watching or conv_id not in conn.monitoring):
            return
        conv = await self.s.store.get_conversation(conn.site, conv_id)
        if conv is not None and (
            conv.get("agent") == conn.agent_id
            or any(p["id"] == conn.agent_id for p in participants(conv))
        ):
            return
        raise ProtocolError("forbidden", "that conversation is not yours", ref=conv_id)

    async def set_status(self, status: str) -> None:
        await self.s.hub.record_agent(self.conn, status)
        self.conn.status = status

    async def hello(self, f: dict[str, Any]) -> None:
        conn, store, hub = self.conn, self.s.store, self.s.hub
        # Supervisors and admins take chats only when they say so: they come to watch.
        default = "online" if conn.account.get("role", "agent") == "agent" else "away"
        status = f.get("status", default)
        # Before the hub knows the socket: a heartbeat in between records conn.status, which
        # must already be what the agent asked for (a supervisor once landed online so).
        conn.status = status
        await hub.add_agent(conn)
        await self.set_status(status)
        conv_ids = await store.agent_conversation_ids(conn.site, conn.agent_id)
        convs = await store.get_conversations(conn.site, conv_ids)
        visitors = await asyncio.gather(
            *(store.load_visitor(conn.site, c.get("visitor", "")) for c in convs)
        )
        conn.send(
            {
                "type": "welcome",
                "agent": {
                    "id": conn.agent_id,
                    "name": conn.name,
                    "email": conn.account.get("email", ""),
                    "role": conn.account.get("role", "agent"),
                    "site": conn.site,
                    "capacity": int(conn.account.get("capacity") or 0),
                    "load": len(conv_ids),
                    "status": conn.status,
                },
                "conversations": [
                    conversation_summary(c, v) for c, v in zip(convs, visitors, strict=True)
                ],
                "queue": await hub.queue_items(conn.site),
                "server_time": hub.clock(),
            }
        )
        self.ready = conn.welcomed = True
        cursors = f.get("cursors") or {}
        for c in convs:
            await hub.track(conn, c["id"], cursors.get(c["id"]))
