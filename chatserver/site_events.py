"""What each site event means to this node's sockets: frames out, follows moved.

A mixin of :class:`chatserver.hub.Hub`. The bus decodes every event on a site's channel
into its record (chatserver.events) and the hub's :meth:`SiteEvents.on_event` hands it to
the handler the table :data:`HANDLERS` names for its type. Handlers run on the bus reader
and must not block: I/O goes to :meth:`spawn`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson

from chatserver.close_codes import CloseCode
from chatserver.connection import AgentConn, Connection, VisitorConn
from chatserver.core.estimate import EstimateAccuracy, HandleTimeEstimator
from chatserver.events import (
    AccountChanged,
    AgentStatus,
    Assigned,
    AtRisk,
    Breach,
    Deactivated,
    Ended,
    Event,
    FollowUp,
    LabelsChanged,
    Message,
    NoticeChanged,
    Opened,
    Queue,
    Read,
    SignedOut,
    Typing,
    Unassigned,
    VisitorChanged,
)
from chatserver.files.links import Links
from chatserver.frames import agent_only, conversation_summary, stored_frame, visitor_summary
from chatserver.messages import Stored
from chatserver.protocol import OutFrame, ProtocolError
from chatserver.router import Router
from chatserver.store import Store


class SiteEvents:
    store: Store
    router: Router
    clock: Callable[[], int]
    file_links: Links
    by_conv: dict[str, set[Connection]]
    visitors: dict[tuple[str, str], set[VisitorConn]]
    site_visitors: dict[str, set[VisitorConn]]
    agents: dict[tuple[str, str], set[AgentConn]]
    site_agents: dict[str, set[AgentConn]]
    handle_times: dict[str, HandleTimeEstimator]
    estimate_accuracy: dict[str, EstimateAccuracy]
    # Told of every site event (the dashboards, chatserver/dashboards.py); must not block.
    on_site_event: Callable[[str, Event], None] | None

    # Provided by the hub.
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        raise NotImplementedError

    def queue_changed(self, site: str) -> None:
        raise NotImplementedError

    async def track(self, conn: Connection, conv_id: str, after: str | None) -> None:
        raise NotImplementedError

    def start_fresh(self, conn: Connection, conv_id: str) -> None:
        raise NotImplementedError

    def untrack(self, conn: Connection, conv_id: str) -> None:
        raise NotImplementedError

    async def resync(self, conn: Connection, conv_id: str) -> None:
        raise NotImplementedError

    async def record_agent(
        self, conn: AgentConn, status: str | None, announce: bool = True
    ) -> None:
        raise NotImplementedError

    def on_event(self, site: str, ev: Event) -> None:
        if self.on_site_event is not None:
            self.on_site_event(site, ev)
        HANDLERS[type(ev)](self, site, ev)

    # --- conversations --------------------------------------------------------------------
    def _on_message(self, site: str, ev: Message) -> None:
        conns = self.by_conv.get(ev.conv)
        if ev.kind == "visitor" and self.site_agents.get(site):
            self.queue_changed(site)  # previews in the agents' queue list
        if not conns:
            return
        stored = Stored(
            ev.id, ev.kind, ev.sender, ev.name, ev.client_id, ev.text, ev.ts, ev.event, ev.file
        )
        frame = OutFrame(stored_frame(ev.conv, stored, self.file_links, site, self.clock()))
        hidden = agent_only(ev.kind, ev.event)
        for conn in list(conns):
            shown = None if hidden and conn.role == "visitor" else frame
            if conn.deliver(ev.conv, ev.id, ev.prev, shown):
                conn.log.info("gap_detected", conversation=ev.conv, id=ev.id)
                self.spawn(self.resync(conn, ev.conv))

    def _on_opened(self, site: str, ev: Opened) -> None:
        conv_id = ev.conv
        for conn in list(self.visitors.get((site, ev.visitor), ())):
            if conn.conv_id != conv_id:
                conn.conv_id, conn.conv_status = conv_id, "queued"
                if conn.opening:
                    # The socket whose message opens it, before the script's reply: it follows
                    # from the (empty) start, so the events that come next on the bus (the
                    # assignment) reach it, with nothing to replay.
                    self.start_fresh(conn, conv_id)
                else:
                    self.spawn(self.track(conn, conv_id, None))
        self.queue_changed(site)
        self.router.kick(site)

    def _on_assigned(self, site: str, ev: Assigned) -> None:
        agent = {"id": ev.agent, "name": ev.name}
        frame = OutFrame({"type": "assigned", "conversation_id": ev.conv, "agent": agent})
        for vconn in list(self.visitors.get((site, ev.visitor), ())):
            if vconn.conv_id == ev.conv:
                vconn.conv_status = "assigned"
                vconn.last_queue = None
                vconn.send(frame)
                if vconn.first_estimate is not None:
                    told_at, estimate = vconn.first_estimate
                    vconn.first_estimate = None
                    accuracy = self.estimate_accuracy.setdefault(site, EstimateAccuracy())
                    accuracy.add(estimate, (self.clock() - told_at) / 1000)
        for aconn in list(self.agents.get((site, ev.agent), ())):
            self.spawn(self.send_assignment(aconn, ev.conv))

    async def send_assignment(self, conn: AgentConn, conv_id: str) -> None:
        conv = await self.store.get_conversation(conn.site, conv_id)
        if conv is None or conv.get("agent") != conn.agent_id:
            return
        visitor = await self.store.load_visitor(conn.site, conv.get("visitor", ""))
        conn.send(
            {
                "type": "assigned",
                "conversation_id": conv_id,
                "agent": {"id": conn.agent_id, "name": conn.name},
                "conversation": conversation_summary(conv, visitor),
            }
        )
        await self.track(conn, conv_id, None)

    def _on_unassigned(self, site: str, ev: Unassigned) -> None:
        """The agent lost the chat (grace ran out, reassigned): it is queued again."""
        self.router.kick(site, fresh=True)  # the agent's slot is free again
        frame = OutFrame({"type": "unassigned", "conversation_id": ev.conv, "reason": ev.reason})
        for aconn in list(self.agents.get((site, ev.agent), ())):
            aconn.send(frame)
            if ev.conv not in aconn.monitoring:  # a supervisor watching it goes on watching
                self.untrack(aconn, ev.conv)
        for vconn in self.by_conv.get(ev.conv, ()):
            if isinstance(vconn, VisitorConn) and vconn.conv_id == ev.conv:
                vconn.conv_status, vconn.last_queue = "queued", None

    def _on_ended(self, site: str, ev: Ended) -> None:
        frame = OutFrame(
            {"type": "resolved", "conversation_id": ev.conv, "by": ev.by, "status": ev.status}
        )
        # Visitors keep following the conversation (and their cursor): if they write again
        # it reopens and continues where they are, with nothing replayed twice.
        for conn in list(self.by_conv.get(ev.conv, ())):
            conn.send(frame)
        for vconn in self.visitors.get((site, ev.visitor), ()):
            if vconn.conv_id == ev.conv:
                vconn.conv_id = vconn.conv_status = None
                vconn.first_estimate = None
        if ev.agent and ev.assigned_at:
            self.handle_times.setdefault(site, HandleTimeEstimator()).add(
                (ev.at - ev.assigned_at) / 1000
            )
        self.router.kick(site, fresh=True)

    def _on_queue(self, site: str, ev: Queue) -> None:
        self.queue_changed(site)
        self.router.kick(site)

    def _on_breach(self, site: str, ev: Breach) -> None:
        """The stream's sla_breach entry tells the agent; supervisors get an escalation
        (the dashboards hear of it through :attr:`on_site_event`)."""
        self._escalate(site, ev.conv, ev.clock, ev.agent, "breached")

    def _on_at_risk(self, site: str, ev: AtRisk) -> None:
        self._escalate(site, ev.conv, ev.clock, ev.agent, "at_risk")

    def _on_follow_up(self, site: str, ev: FollowUp) -> None:
        self._escalate(site, ev.conv, "email", "", "follow_up")

    def _escalate(self, site: str, conv_id: str, clock: str, agent: str, level: str) -> None:
        watchers = [c for c in self.site_agents.get(site, ()) if c.supervises]
        if watchers:
            self.spawn(self._send_escalation(site, conv_id, clock, agent, level, watchers))

    async def _send_escalation(
        self,
        site: str,
        conv_id: str,
        clock: str,
        agent: str,
        level: str,
        watchers: list[AgentConn],
    ) -> None:
        conv = await self.store.get_conversation(site, conv_id)
        if conv is None:
            return
        visitor = await self.store.load_visitor(site, conv.get("visitor", ""))
        frame = OutFrame(
            {
                "type": "escalation",
                "conversation_id": conv_id,
                "level": level,
                "clock": clock,
                "agent_id": agent,
                "conversation": conversation_summary(conv, visitor),
            }
        )
        for conn in watchers:
            conn.send(frame)

    def _on_typing(self, site: str, ev: Typing) -> None:
        base = {"type": "typing", "conversation_id": ev.conv, "from": ev.by, "state": ev.state}
        plain = OutFrame(base)
        with_preview = OutFrame({**base, "preview": ev.preview}) if ev.preview else plain
        if ev.by == "agent":
            # The visitor, and the other agents following it (a monitor, a joined supervisor,
            # the holder when a supervisor types), told who types.
            authored = OutFrame({**base, "author": {"id": ev.sender, "name": ev.name}})
            for conn in self.by_conv.get(ev.conv, ()):
                if conn.role == "visitor":
                    conn.send(plain)
                elif isinstance(conn, AgentConn) and conn.agent_id != ev.sender:
                    conn.send(authored)
            return
        for conn in self.by_conv.get(ev.conv, ()):
            if conn.role != ev.by:
                conn.send(with_preview if conn.role == "agent" else plain)

    def _on_read(self, site: str, ev: Read) -> None:
        frame = OutFrame({"type": "read", "conversation_id": ev.conv, "from": ev.by, "id": ev.id})
        for conn in self.by_conv.get(ev.conv, ()):
            if conn.role != ev.by:
                conn.send(frame)

    def _on_visitor_changed(self, site: str, ev: VisitorChanged) -> None:
        if any(c.role == "agent" for c in self.by_conv.get(ev.conv, ())):
            self.spawn(self._send_visitor(site, ev.conv, ev.visitor))

    async def _send_visitor(self, site: str, conv_id: str, visitor_id: str) -> None:
        conns = [c for c in self.by_conv.get(conv_id, ()) if c.role == "agent"]
        if not conns:
            return
        visitor = await self.store.load_visitor(site, visitor_id)
        # With what changes live beside the record: online or gone, this visit's pages.
        (context,) = await self.store.visitor_context(site, [visitor_id], self.clock())
        frame = OutFrame(
            {
                "type": "visitor",
                "conversation_id": conv_id,
                "visitor": {**visitor_summary(visitor_id, visitor), **context},
            }
        )
        for conn in conns:
            conn.send(frame)

    def _on_labels(self, site: str, ev: LabelsChanged) -> None:
        """Every agent socket following the conversation (its holder, a monitor, a joined
        supervisor) is told its label ids (docs/protocol.md, ``labels``)."""
        ids = [i for i in ev.labels.split(" ") if i]
        frame = OutFrame({"type": "labels", "conversation_id": ev.conv, "labels": ids})
        for conn in self.by_conv.get(ev.conv, ()):
            if conn.role == "agent":
                conn.send(frame)

    # --- the site's notice ----------------------------------------------------------------
    def _on_notice(self, site: str, ev: NoticeChanged) -> None:
        """Every visitor socket of the site on this node gets the notice, or ``null`` when
        it was taken down (docs/protocol.md, ``notice``)."""
        frame = OutFrame(
            {"type": "notice", "notice": orjson.loads(ev.notice) if ev.notice else None}
        )
        for conn in list(self.site_visitors.get(site, ())):
            conn.send(frame)

    # --- agents ---------------------------------------------------------------------------
    def _on_agent_status(self, site: str, ev: AgentStatus) -> None:
        self.router.kick(site, fresh=True)
        self.queue_changed(site)
        conns = self.agents.get((site, ev.agent))
        if not conns:
            return
        if ev.status == "offline":
            # The agent's last socket on another node closed, but they are still here: they
            # are not gone, so record them again (which also ends their grace).
            conn = next(iter(conns))
            if conn.account:
                self.spawn(self.record_agent(conn, conn.status))
            return
        self.spawn(self._send_status(site, ev.agent, ev.status))

    async def _send_status(self, site: str, agent_id: str, status: str) -> None:
        # The capacity comes from the account, which an admin changes: the routing state
        # may still hold the old one for a moment (another node's heartbeat re-asserts what
        # it last read), and a status frame must not show it.
        account = await self.store.get_account(agent_id) or {}
        load = len(await self.store.agent_conversation_ids(site, agent_id))
        frame = OutFrame(
            {
                "type": "status",
                "status": status,
                "load": load,
                "capacity": int(account.get("capacity") or 0),
            }
        )
        for conn in self.agents.get((site, agent_id), ()):
            # A socket still in its hello learns its status from the welcome.
            if conn.welcomed:
                conn.status = status
                conn.send(frame)

    # --- agents' accounts, changed in the admin pages -------------------------------------
    def _on_deactivated(self, site: str, ev: Deactivated) -> None:
        for conn in list(self.agents.get((site, ev.agent), ())):
            self.spawn(_sign_out(conn, "your account was deactivated"))

    def _on_account(self, site: str, ev: AccountChanged) -> None:
        """Open sockets pick up the new capacity, role or departments, and the agent's
        routing state is recorded again."""
        self.spawn(self._reload_account(site, ev.agent))

    def _on_signed_out(self, site: str, ev: SignedOut) -> None:
        """Closed, so the agent takes no new chats once the last of its sockets is gone."""
        for conn in list(self.agents.get((site, ev.agent), ())):
            if conn.session == ev.session:
                self.spawn(_sign_out(conn, "you signed out"))

    async def _reload_account(self, site: str, agent_id: str) -> None:
        conns = list(self.agents.get((site, agent_id), ()))
        if not conns:
            return
        account = await self.store.get_account(agent_id)
        if account is None or account.get("active", "1") != "1" or account.get("site") != site:
            for conn in conns:
                await _sign_out(conn, "your account changed; sign in again")
            return
        for conn in conns:
            conn.account, conn.name = account, account.get("name", "")
        await self.record_agent(conns[0], conns[0].status)


async def _sign_out(conn: AgentConn, why: str) -> None:
    conn.send(ProtocolError("unauthorized", why).frame())
    await conn.flush(1.0)
    conn.close(CloseCode.UNAUTHORIZED)


# One handler per kind (tests/unit/test_events.py checks the table is total).
HANDLERS: dict[type[Event], Callable[[SiteEvents, str, Any], None]] = {
    Message: SiteEvents._on_message,
    Opened: SiteEvents._on_opened,
    Assigned: SiteEvents._on_assigned,
    Unassigned: SiteEvents._on_unassigned,
    Ended: SiteEvents._on_ended,
    Queue: SiteEvents._on_queue,
    AgentStatus: SiteEvents._on_agent_status,
    Typing: SiteEvents._on_typing,
    Read: SiteEvents._on_read,
    VisitorChanged: SiteEvents._on_visitor_changed,
    Breach: SiteEvents._on_breach,
    AtRisk: SiteEvents._on_at_risk,
    FollowUp: SiteEvents._on_follow_up,
    Deactivated: SiteEvents._on_deactivated,
    AccountChanged: SiteEvents._on_account,
    SignedOut: SiteEvents._on_signed_out,
    LabelsChanged: SiteEvents._on_labels,
    NoticeChanged: SiteEvents._on_notice,
}
