"""The hub: which local connection follows which conversation, and what each event means.

The bus hands every site event to :meth:`Hub.on_event` (chatserver.site_events), which turns
it into frames, encodes each frame once and queues the same bytes on every local connection
that follows the conversation. Joining a conversation (:meth:`Hub.track`) buffers live
events, replays the stream from the client's cursor, then merges the buffer, so nothing is
missed or doubled.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from redis.exceptions import RedisError

from chatserver.bus import Bus
from chatserver.close_codes import CloseCode
from chatserver.config import Settings
from chatserver.connection import AgentConn, Connection, VisitorConn
from chatserver.core.departments import parse_departments
from chatserver.core.estimate import EstimateAccuracy, HandleTimeEstimator
from chatserver.core.follow import ZERO, Follow, format_id, parse_id
from chatserver.files.links import links_for
from chatserver.frames import (
    agent_only,
    stored_frame,
)
from chatserver.lifecycle import Lifecycle
from chatserver.log import get_logger
from chatserver.protocol import ZERO_ID, OutFrame
from chatserver.queue_updates import QueueUpdates
from chatserver.router import Router
from chatserver.site_events import SiteEvents
from chatserver.store import Store, now_ms
from chatserver.tasks import Background

log = get_logger(__name__)

QUEUE_DEBOUNCE = 0.2  # seconds: coalesce a burst of queue moves into one update
GAP_CHECK_INTERVAL = 15.0
ROUTING_TICK = 5.0
RETENTION_INTERVAL = 60.0  # retention works a little per pass (see retention.py)
HISTORY_PAGE = 1000
SITE_CACHE_SECONDS = 5.0


class Hub(QueueUpdates, SiteEvents):
    def __init__(
        self, store: Store, settings: Settings, redis_url: str, clock: Callable[[], int] = now_ms
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.file_links = links_for(settings)  # signs the download URLs of message frames
        self.bus = Bus(redis_url, store.k, self.on_event, self.resync_all)
        self.lifecycle = Lifecycle(store, settings, self.site_config, clock)
        self.router = Router(store, clock, self.lifecycle.policy)
        self.by_conv: dict[str, set[Connection]] = {}
        self.visitors: dict[tuple[str, str], set[VisitorConn]] = {}
        self.agents: dict[tuple[str, str], set[AgentConn]] = {}
        self.site_visitors: dict[str, set[VisitorConn]] = {}
        self.site_agents: dict[str, set[AgentConn]] = {}
        self.handle_times: dict[str, HandleTimeEstimator] = {}
        self.estimate_accuracy: dict[str, EstimateAccuracy] = {}
        self._queue_timers: dict[str, asyncio.TimerHandle] = {}
        self._loops = Background()  # the periodic steps
        self._tasks = Background()  # one-off work the bus handlers and sockets start
        self._sites: dict[str, tuple[float, dict[str, str] | None]] = {}
        self.draining = False
        self.on_site_event = None

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        await self.bus.start()
        every = self._loops.every
        every(self.settings.presence_ttl / 3, self._heartbeat)
        every(GAP_CHECK_INTERVAL, self._check_gaps)
        every(ROUTING_TICK, self._routing_tick)
        every(self.settings.timer_interval, self.lifecycle.tick)
        every(self.settings.sweep_interval, self.lifecycle.sweep)
        every(RETENTION_INTERVAL, self.lifecycle.retain)

    async def site_config(self, site: str) -> dict[str, str] | None:
        """The site's settings, cached for a few seconds (every handshake needs them)."""
        loop_now = asyncio.get_running_loop().time()
        cached = self._sites.get(site)
        if cached is not None and cached[0] > loop_now:
            return cached[1]
        config = await self.store.get_site(site)
        self._sites[site] = (loop_now + SITE_CACHE_SECONDS, config)
        return config

    async def drain(self) -> None:
        """Before the server closes its sockets: ask every client to reconnect elsewhere.

        Clients resume from their cursors on any node, so nothing is lost in between.
        """
        self.draining = True
        conns: list[Connection] = [c for cs in self.site_visitors.values() for c in cs]
        conns += [c for cs in self.site_agents.values() for c in cs]
        frame = OutFrame({"type": "reconnect", "after_ms": 250})
        for conn in conns:
            conn.send(frame)
        await asyncio.gather(*(c.flush(1.0) for c in conns), return_exceptions=True)

    async def stop(self) -> None:
        """Stop background work (after :meth:`drain`)."""
        if not self.draining:
            await self.drain()
        await self._loops.stop()
        await self.router.stop()
        await self.bus.stop()
        await self._tasks.stop()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._tasks.spawn(coro)

    # --- registration ---------------------------------------------------------------------
    async def add_visitor(self, conn: VisitorConn) -> None:
        conn.on_close = self.remove
        await self.bus.subscribe(conn.site)
        self.visitors.setdefault((conn.site, conn.visitor_id), set()).add(conn)
        self.site_visitors.setdefault(conn.site, set()).add(conn)
        await self.lifecycle.visitors_here({conn.site: [conn.visitor_id]})

    async def add_agent(self, conn: AgentConn) -> None:
        conn.on_close = self.remove
        # Registered before the first await: an agent_left of the socket this one replaces
        # (a reload) must see that the agent is back.
        self.agents.setdefault((conn.site, conn.agent_id), set()).add(conn)
        self.site_agents.setdefault(conn.site, set()).add(conn)
        await self.bus.subscribe(conn.site)

    def remove(self, conn: Connection) -> None:
        if conn.removed:
            return
        conn.removed = conn.closed = True
        for conv_id in list(conn.follows):
            self.untrack(conn, conv_id)
        if isinstance(conn, VisitorConn):
            _discard(self.visitors, (conn.site, conn.visitor_id), conn)
            _discard(self.site_visitors, conn.site, conn)
            if conn.visitor_id and (conn.site, conn.visitor_id) not in self.visitors:
                self.spawn(self.lifecycle.visitor_left(conn.site, conn.visitor_id, conn.conv_id))
        elif isinstance(conn, AgentConn):
            site, agent_id = conn.site, conn.agent_id
            _discard(self.agents, (site, agent_id), conn)
            _discard(self.site_agents, site, conn)
            if conn.account and not self.agent_connected(site, agent_id):
                back = functools.partial(self.agent_connected, site, agent_id)
                self.spawn(self.lifecycle.agent_left(site, agent_id, back))

    async def subscribe(self, site: str) -> None:
        """Receive the site's events on this node (the dashboards' sockets need them too)."""
        await self.bus.subscribe(site)

    def socket_counts(self) -> dict[str, int]:
        """Open visitor and agent sockets on this node."""
        return {
            "visitor": sum(len(c) for c in self.site_visitors.values()),
            "agent": sum(len(c) for c in self.site_agents.values()),
        }

    def agent_connected(self, site: str, agent_id: str) -> bool:
        return bool(self.agents.get((site, agent_id)))

    # --- following conversations ----------------------------------------------------------
    async def track(self, conn: Connection, conv_id: str, after: str | None) -> None:
        """Follow a conversation: replay after ``after`` then go live, with no gap or double.

        ``after`` None means from this socket's cursor (from the start if it has none). The
        site must already be subscribed (add_visitor/add_agent), so every event published
        after the stream reads below is held by the connection's Follow and merged. The
        replay is paced by the socket, so it never overflows the live queue.
        """
        follow = conn.follows.get(conv_id)
        if follow is not None and follow.replaying:
            return
        if follow is None:
            follow = conn.follows[conv_id] = Follow()
            self.by_conv.setdefault(conv_id, set()).add(conn)
        follow.start_replay(parse_id(after) if after else None)
        hide = conn.role == "visitor"
        try:
            while True:
                page = await self.store.read_messages(
                    conn.site, conv_id, format_id(follow.replay_cursor), HISTORY_PAGE
                )
                for m in page:
                    if not follow.replayed(parse_id(m.id)):
                        continue
                    if hide and agent_only(m.kind, m.event):
                        continue
                    built = stored_frame(conv_id, m, self.file_links, conn.site, self.clock())
                    if not await conn.send_paced(OutFrame(built)):
                        return
                if len(page) < HISTORY_PAGE:
                    merged = follow.finish_replay()
                    if merged is not None:
                        break
        except BaseException as exc:
            follow.abort_replay()
            if follow.cursor is None:
                self.untrack(conn, conv_id)
                # A client left deaf to its conversation would wait forever: make it reconnect
                # and resume from its cursor instead (a resync keeps its cursor; the gap check
                # retries it).
                if isinstance(exc, RedisError | OSError):
                    conn.close(CloseCode.TRY_AGAIN)
            raise
        for frame in merged:
            if frame is not None:
                conn.send(frame)
        last_id = format_id(follow.cursor or ZERO)
        conn.send({"type": "synced", "conversation_id": conv_id, "last_id": last_id})

    def start_fresh(self, conn: Connection, conv_id: str) -> None:
        """Follow a conversation this connection just created (its stream is empty)."""
        self.by_conv.setdefault(conv_id, set()).add(conn)
        conn.follows.setdefault(conv_id, Follow(cursor=ZERO))

    def untrack(self, conn: Connection, conv_id: str) -> None:
        conn.follows.pop(conv_id, None)
        _discard(self.by_conv, conv_id, conn)

    async def resync(self, conn: Connection, conv_id: str) -> None:
        follow = conn.follows.get(conv_id)
        if conn.closed or follow is None or follow.replaying or follow.cursor is None:
            return
        await self.track(conn, conv_id, None)

    async def resync_all(self) -> None:
        """After the bus reconnects: events may have been lost, so re-read every stream."""
        for conv_id, conns in list(self.by_conv.items()):
            for conn in list(conns):
                self.spawn(self.resync(conn, conv_id))
        for site in set(self.site_visitors) | set(self.site_agents):
            self.queue_changed(site)
            self.router.kick(site, fresh=True)

    async def _check_gaps(self) -> None:
        """Compare cursors with each stream's last id and fill any gap the bus let through."""
        by_site: dict[str, list[str]] = {}
        for conv_id, conns in self.by_conv.items():
            for conn in conns:
                by_site.setdefault(conn.site, []).append(conv_id)
                break
        for site, conv_ids in by_site.items():
            convs = await self.store.get_conversations(site, conv_ids)
            last = {c.get("id", ""): c.get("last_id", ZERO_ID) for c in convs}
            for conv_id in conv_ids:
                head = parse_id(last.get(conv_id, ZERO_ID))
                for conn in list(self.by_conv.get(conv_id, ())):
                    follow = conn.follows.get(conv_id)
                    if follow is not None and follow.cursor is not None and follow.cursor < head:
                        conn.log.info("gap_filled", conversation=conv_id)
                        self.spawn(self.resync(conn, conv_id))

    async def record_agent(
        self, conn: AgentConn, status: str | None, announce: bool = True
    ) -> None:
        """Store the agent's state and presence from its account; ``announce`` rings the bell.
        ``status`` None: the socket's status when the call runs (a heartbeat's coroutines are
        made before they run, and the agent may change status in between)."""
        await self.store.set_agent_status(
            conn.site,
            conn.agent_id,
            conn.name,
            int(conn.account.get("capacity", "3")),
            conn.status if status is None else status,
            self.settings.presence_ttl,
            parse_departments(conn.account.get("departments")),
            announce=announce,
            now=self.clock(),
        )

    async def _heartbeat(self) -> None:
        """Keep every connected agent present (one pipelined round trip for all of them)."""
        beats = [
            self.record_agent(conn, None, announce=False)
            for conns in self.agents.values()
            if (conn := next(iter(conns), None)) is not None and conn.account
        ]
        # Presence matters only to open conversations (missed/abandoned timers): idle
        # visitors cost nothing here.
        visitors: dict[str, list[str]] = {}
        for (site, visitor_id), conns in self.visitors.items():
            if any(c.conv_id for c in conns):
                visitors.setdefault(site, []).append(visitor_id)
        await asyncio.gather(*beats, self.lifecycle.visitors_here(visitors))

    async def _routing_tick(self) -> None:
        for site in set(self.site_visitors) | set(self.site_agents):
            self.router.kick(site, fresh=True)


def _discard(mapping: dict[Any, set[Any]], key: Any, conn: Any) -> None:
    conns = mapping.get(key)
    if conns is not None:
        conns.discard(conn)
        if not conns:
            del mapping[key]
