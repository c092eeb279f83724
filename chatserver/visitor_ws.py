"""The visitor WebSocket endpoint: `/ws/visitor?site=SITE`."""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisError
from starlette.websockets import WebSocket

from chatserver.auth import verify_visitor_token, visitor_token
from chatserver.close_codes import CloseCode
from chatserver.config import valid_site_name
from chatserver.connection import VisitorConn
from chatserver.core.policy import SitePolicy
from chatserver.core.retention import retention_days, retention_ms
from chatserver.core.states import CLOSED_STATUSES, Status
from chatserver.endpoint import Receipts, choose_format, receive_loop
from chatserver.events import Read, Typing, VisitorChanged
from chatserver.frames import ack_frame, conversation_summary
from chatserver.limits import close_flooder, limited, refuse
from chatserver.messages import Outgoing
from chatserver.protocol import ZERO_ID, ProtocolError, message_parts
from chatserver.security_headers import origin_allowed, same_origin
from chatserver.services import Services
from chatserver.store import StoreError, new_id
from chatserver.visitor_forms import identify, rate, visitor_details


async def visitor_endpoint(ws: WebSocket) -> None:
    services: Services = ws.app.state.services
    site = ws.query_params.get("site") or services.settings.default_site
    try:
        site_cfg = await services.hub.site_config(site) if valid_site_name(site) else None
    except (RedisError, OSError):
        await ws.close(CloseCode.TRY_AGAIN)
        return
    if site_cfg is None:
        # Accepted first, so the client can read the code (a refused handshake shows none).
        await ws.accept()
        await ws.close(CloseCode.UNKNOWN_SITE)
        return
    origin = ws.headers.get("origin")
    if not (
        origin_allowed(origin, site_cfg.get("allowed_origins", ""))
        or same_origin(origin, ws.headers.get("host"))
    ):
        await ws.close(CloseCode.FORBIDDEN)
        return
    fmt, subprotocol = choose_format(ws)
    ip = services.limits.client_ip(ws.scope, ws.headers)
    try:
        wait, lease = await services.limits.open_socket(ip)
    except (RedisError, OSError):
        await ws.close(CloseCode.TRY_AGAIN)
        return
    await ws.accept(subprotocol=subprotocol)
    conn = VisitorConn(ws, fmt, "visitor", site, services.settings.outbound_queue)
    if wait:
        # Accepted first so the widget can read why (and back off for 4008).
        await close_flooder(conn, limited("connections from your address", wait))
        return
    session = VisitorSession(services, conn, ws, ip)
    try:
        await receive_loop(ws, conn, services.visitor_codec, services.settings, session.handle)
    finally:
        session.receipts.close()
        services.hub.remove(conn)
        await services.limits.close_socket(lease)


class VisitorSession:
    def __init__(self, services: Services, conn: VisitorConn, ws: WebSocket, ip: str) -> None:
        self.s = services
        self.conn = conn
        self.receipts = Receipts(conn)
        self.ws = ws
        self.ip = ip
        self.ready = False
        self.last_typing = 0

    async def handle(self, f: dict[str, Any]) -> None:
        ftype = f["type"]
        if ftype == "hello":
            if self.ready:
                raise ProtocolError("already_hello", "hello was already received")
            await self.hello(f)
            return
        if not self.ready:
            raise ProtocolError("not_ready", "send hello first")
        if ftype == "message":
            await self.message(f["client_id"], *message_parts(f))
        elif ftype == "typing":
            await self.typing(f["state"], f.get("preview", ""))
        elif ftype == "ping":
            self.conn.send({"type": "pong", "server_time": self.s.hub.clock()})
        elif ftype == "sync":
            self._own(f["conversation_id"])
            await self.s.hub.track(self.conn, f["conversation_id"], f.get("after") or ZERO_ID)
        elif ftype == "read":
            self._own(f["conversation_id"])
            await self.s.store.publish(
                self.conn.site, Read(f["conversation_id"], "visitor", f["id"])
            )
        elif ftype == "page":
            await self.page(f["page"])
        elif ftype == "resolve":
            await self.resolve()
        elif ftype == "identify":
            await identify(self.s, self.conn, f)
        elif ftype == "rate":
            await rate(self.s, self.conn, f)

    def _own(self, conv_id: str) -> None:
        # Visitors only ever follow their current conversation; any other id is refused
        # without saying whether it exists.
        if conv_id != self.conn.conv_id:
            raise ProtocolError("forbidden", "that conversation is not yours", ref=conv_id)

    async def hello(self, f: dict[str, Any]) -> None:
        settings, store, conn = self.s.settings, self.s.store, self.conn
        now = self.s.hub.clock()
        visitor_id = None
        if f.get("token"):
            visitor_id = verify_visitor_token(
                settings.secret_key, f["token"], conn.site, now // 1000, settings.old_secret_keys
            )
        visitor = await store.load_visitor(conn.site, visitor_id) if visitor_id else None
        if visitor is None:
            visitor_id = new_id("v")
            visitor = {"id": visitor_id, "site": conn.site, "created_at": str(now)}
        assert visitor_id is not None
        cursor = f.get("cursor")
        # The name, e-mail and signed identity: refusals are told after the welcome (the page
        # passed them, not the visitor), and the session starts all the same.
        details = await visitor_details(self.s, conn.site, f, visitor_id, visitor, now)
        if details.linked:
            if details.visitor_id != visitor_id:
                # The user's own record (another device's): its conversation, from the start
                # (the client's cursor is of another conversation).
                cursor = None
                visitor_id = details.visitor_id
            visitor = await store.load_visitor(conn.site, visitor_id) or visitor
        page = f.get("page") or {}
        fields = {
            **visitor,
            "last_seen": str(now),
            "user_agent": self.ws.headers.get("user-agent", "")[:400],
        }
        for key, src in (("page_url", "url"), ("page_title", "title"), ("referrer", "referrer")):
            if src in page:
                fields[key] = page[src]
        for key in ("locale", "timezone"):
            if f.get(key):
                fields[key] = f[key]
        fields.update(details.fields)
        fields.pop("open_conv", None)  # owned by the scripts, never rewritten from here
        keep = retention_ms(retention_days(await self.s.hub.site_config(conn.site)))
        seen = (page.get("url", ""), page.get("title", ""))
        await store.visitor_seen(conn.site, visitor_id, fields, keep, now, seen)
        conn.visitor_id = visitor_id
        conn.name = fields.get("name", "")
        conn.department = f.get("department", "")
        conn.log = conn.log.bind(visitor=visitor_id)
        await self.s.hub.add_visitor(conn)
        conv = None
        if visitor.get("open_conv"):
            conv = await store.get_conversation(conn.site, visitor["open_conv"])
            if conv is not None and conv.get("status") in CLOSED_STATUSES:
                conv = None
        token = visitor_token(
            settings.secret_key, conn.site, visitor_id, now // 1000, settings.visitor_token_ttl
        )
        summary = None
        if conv is not None:
            full = conversation_summary(conv)
            summary = {k: full[k] for k in ("id", "status", "agent", "created_at", "department")}
        # Read after add_visitor: a notice posted meanwhile reaches the socket as a frame, and
        # the welcome never carries an older one than that frame did.
        notice = await store.notice(conn.site, now)
        conn.send(
            {
                "type": "welcome",
                "visitor_id": visitor_id,
                "token": token,
                "site": conn.site,
                "conversation": summary,
                "server_time": now,
                "notice": notice.public() if notice else None,
            }
        )
        for error in details.errors:
            conn.send(error.frame())
        self.ready = True
        if conv is not None:
            conn.conv_id, conn.conv_status = conv["id"], conv.get("status")
            conn.department = conv.get("department", "")
            await self.s.hub.track(conn, conv["id"], cursor)
            if conn.conv_status == Status.QUEUED:
                self.s.hub.queue_changed(conn.site)
            # Its agents see the visitor online again, on the page they opened.
            await store.publish(conn.site, VisitorChanged(conv["id"], visitor_id))

    async def _ensure_conversation(self, ref: str | None = None) -> str:
        conn, hub = self.conn, self.s.hub
        if conn.conv_id is not None:
            return conn.conv_id
        wait = await self.s.limits.new_conversation(self.ip)
        if wait:
            await refuse(conn, wait, "new conversations", ref)
        policy = await hub.lifecycle.policy(conn.site)
        # The bus may tell of the new chat before the script's reply arrives: this socket
        # follows it from here, without the hub replaying it a second time.
        conn.opening = True
        try:
            outcome, conv_id = await self.s.store.open_conversation(
                conn.site,
                conn.visitor_id,
                hub.clock(),
                conn.department,
                visitor_name=conn.name,
                policy=policy,
            )
        finally:
            conn.opening = False
        conn.conv_id, conn.conv_status = conv_id, Status.QUEUED.value
        conn.log = conn.log.bind(conversation=conv_id)
        if outcome == "ok":
            hub.start_fresh(conn, conv_id)
        else:
            await hub.track(conn, conv_id, None)
        return conv_id

    async def message(self, client_id: str, text: str, file_id: str = "") -> None:
        policy = await self.s.hub.lifecycle.policy(self.conn.site)  # may await Redis: first
        # The file's metadata travels with the message (read first, like the policy).
        file = (file_id, await self.s.files.for_message(self.conn.site, file_id, client_id))
        if self.conn.conv_id is None:
            # The first message opens (or reopens) the conversation: in line, before the next.
            ack = await self.store_message(client_id, text, policy, file)
            self.conn.send(ack)
            return
        # Stored in arrival order, acknowledged when stored, without waiting a round trip.
        await self.receipts.send(client_id, self.store_message(client_id, text, policy, file))

    async def store_message(
        self, client_id: str, text: str, policy: SitePolicy, file: tuple[str, str] = ("", "")
    ) -> dict[str, Any]:
        """Store one message and return its ack; opens or reopens the conversation if needed.

        With a conversation open, its first step queues the script call, so calls made in
        frame order are stored in frame order."""
        conn, store = self.conn, self.s.store
        for _ in range(2):
            conv_id = await self._ensure_conversation(client_id)
            try:
                msg = Outgoing(
                    conn.site,
                    conv_id,
                    "visitor",
                    conn.visitor_id,
                    conn.name,
                    client_id,
                    text,
                    self.s.hub.clock(),
                    *file,
                )
                res = await store.send_message(msg, policy, self.s.limits.message_limit(self.ip))
            except StoreError as exc:
                if exc.code == "rate_limited":
                    wait = float(exc.detail) / 1000
                    await refuse(conn, wait, "messages", client_id)
                if exc.code in ("closed", "not_found"):
                    # Resolved meanwhile (by the agent, in another tab): start a new chat.
                    self.s.hub.untrack(conn, conv_id)
                    conn.conv_id = conn.conv_status = None
                    continue
                raise
            self.conn.flood.limit_passed()
            return ack_frame(client_id, conv_id, res)
        raise ProtocolError("conversation_closed", "the conversation is closed", ref=client_id)

    async def typing(self, state: bool, preview: str) -> None:
        if self.conn.conv_id is None:
            return
        now = self.s.hub.clock()
        # At most a few typing events a second reach the bus; the last state always does.
        if state and now - self.last_typing < 300:
            return
        self.last_typing = now if state else 0
        event = Typing(self.conn.conv_id, "visitor", state, preview if state else "")
        wait = await self.s.limits.publish_typing(
            self.conn.site, self.conn.visitor_id, self.ip, event
        )
        if wait:
            await refuse(self.conn, wait, "typing events")
        self.conn.flood.limit_passed()

    async def page(self, page: dict[str, str]) -> None:
        conn = self.conn
        fields = {
            key: page[src]
            for key, src in (("page_url", "url"), ("page_title", "title"), ("referrer", "referrer"))
            if src in page
        }
        if fields:
            keep = retention_ms(retention_days(await self.s.hub.site_config(conn.site)))
            seen = (page.get("url", ""), page.get("title", ""))
            now = self.s.hub.clock()
            await self.s.store.visitor_page(conn.site, conn.visitor_id, now, keep, seen, fields)
            if conn.conv_id:
                await self.s.store.publish(conn.site, VisitorChanged(conn.conv_id, conn.visitor_id))

    async def resolve(self) -> None:
        conn = self.conn
        if conn.conv_id is None:
            raise ProtocolError("not_found", "no open conversation")
        await self.s.store.resolve(
            conn.site, conn.conv_id, "visitor", conn.visitor_id, conn.name, self.s.hub.clock()
        )
