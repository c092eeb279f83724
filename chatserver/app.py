"""The ASGI application factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from chatserver import __version__
from chatserver.agent_ws import agent_endpoint
from chatserver.api.routes import routes as api_routes
from chatserver.config import Settings
from chatserver.connection import VisitorConn
from chatserver.dashboard_ws import dashboard_socket
from chatserver.dashboards import Dashboards
from chatserver.durability import probe
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.events import Event
from chatserver.files.cleanup import PendingCleanup
from chatserver.files.routes import routes as file_routes
from chatserver.help_routes import routes as help_routes
from chatserver.log import get_logger
from chatserver.mail.alerts import MailSteps
from chatserver.mail.inbound import routes as inbound_routes
from chatserver.mail.requests import routes as mail_routes
from chatserver.mail.sender import MailSender
from chatserver.prometheus import metrics_endpoint
from chatserver.redis_supervisor import RedisSupervisor
from chatserver.search import SearchIndexer
from chatserver.security_headers import SecurityHeaders
from chatserver.services import Services
from chatserver.visitor_ws import visitor_endpoint
from chatserver.webhooks import WebhookDelivery
from chatserver.widget_routes import routes as widget_routes
from console.routes import routes as console_routes

log = get_logger(__name__)

ROOT = Path(__file__).resolve().parent.parent
WIDGET_DIR = ROOT / "widget"
CONSOLE_STATIC = ROOT / "console" / "static"


async def healthz(request: Request) -> Response:
    supervisor: RedisSupervisor | None = request.app.state.redis_supervisor
    if supervisor is not None and not supervisor.healthy:
        # Restarting the process is the only cure left: say so to whoever supervises it.
        return JSONResponse(
            {"status": "failing", "redis": "the embedded redis-server cannot be restarted"},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "version": __version__})


async def readyz(request: Request) -> Response:
    services: Services = request.app.state.services
    promise = services.store.scripts.promise
    durability = promise.summary() if promise is not None else None
    try:
        writable = await services.store.writable()
    except Exception as exc:
        # The detail (host names, addresses) goes to the log, not to whoever asks.
        log.warning("not_ready", error=str(exc)[:200])
        return JSONResponse(
            {"status": "unavailable", "redis": "unreachable", "durability": durability},
            status_code=503,
        )
    if not writable:
        # A demoted primary (now a replica) answers PING but refuses every write.
        log.warning("not_ready", error="redis is a replica (read-only)")
        return JSONResponse(
            {"status": "unavailable", "redis": "read_only", "durability": durability},
            status_code=503,
        )
    return JSONResponse({"status": "ready", "durability": durability})


def create_app(
    settings: Settings,
    redis_url: str,
    clock: Callable[[], int] | None = None,
    embedded: EmbeddedRedis | None = None,
) -> Starlette:
    """Build the app. ``settings`` must already carry a secret key (see config.ensure_secret).

    ``clock`` (ms) replaces the wall clock of the hub and the dashboards, e.g. to replay a day.
    ``embedded`` is the redis-server child this process started: it is restarted if it dies.
    """
    services = Services.build(settings, redis_url, clock)
    dashboards = Dashboards(services.store, settings, services.hub.clock)
    webhooks = WebhookDelivery(
        services.store, settings, services.hub.lifecycle.node, services.hub.clock
    )
    indexer = SearchIndexer(services.store, services.hub.lifecycle.node, services.hub.clock)
    mail = MailSender(services.store, settings, services.hub.lifecycle.node, services.hub.clock)
    mail_steps = MailSteps(services.store, settings, services.hub.clock, mail.wake)
    services.hub.lifecycle.timers.on_mail = mail_steps.fire
    mail_steps.replies.visitor_on_node = lambda conv_id: any(
        isinstance(c, VisitorConn) for c in services.hub.by_conv.get(conv_id, ())
    )

    def on_site_event(site: str, ev: Event) -> None:
        dashboards.on_site_event(site, ev)
        mail_steps.replies.on_event(site, ev)  # agents' replies to visitors gone, by mail

    services.hub.on_site_event = on_site_event
    supervisor = RedisSupervisor(embedded) if embedded is not None else None
    unused_uploads = PendingCleanup(services.files, services.hub.clock)
    services.hub.lifecycle.retention.forget_files = services.files.forget_conversation

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if supervisor is not None:
            supervisor.start()
        await services.store.scripts.load_all()
        promise = await probe(
            services.store.r,
            settings.durability,
            settings.min_replicas,
            settings.durability_timeout_ms,
        )
        services.store.scripts.promise = promise
        if promise.kept:
            log.info("durability", mode=promise.effective, ack_means=promise.means)
        else:
            log.warning(
                "durability_not_kept",
                requested=promise.requested,
                mode=promise.effective,
                ack_means=promise.means,
                advice=promise.advice,
            )
        await services.store.ensure_site(settings.default_site)
        await services.hub.start()
        await dashboards.start()
        await webhooks.start()
        indexer.start()
        await mail.start()
        unused_uploads.start()
        log.info("hub_started", redis=_redact(redis_url), node=services.hub.lifecycle.node)
        try:
            yield
        finally:
            await unused_uploads.stop()
            await mail.stop()
            await mail_steps.replies.stop()
            await indexer.stop()
            await webhooks.stop()
            await dashboards.stop()
            await services.hub.stop()
            if supervisor is not None:
                await supervisor.stop()
            await services.store.close()
            log.info("hub_stopped")

    routes = [
        *widget_routes,
        *help_routes,
        *mail_routes,
        *inbound_routes,
        *file_routes,
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        WebSocketRoute("/ws/visitor", visitor_endpoint),
        WebSocketRoute("/ws/agent", agent_endpoint),
        WebSocketRoute("/ws/dashboard", dashboard_socket),
        *api_routes,
        *console_routes,
        Mount("/static/widget", StaticFiles(directory=WIDGET_DIR), name="widget"),
        Mount("/static/console", StaticFiles(directory=CONSOLE_STATIC), name="console"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders, settings=settings)],
    )
    app.state.services = services
    app.state.dashboards = dashboards
    app.state.webhooks = webhooks
    app.state.search_indexer = indexer
    app.state.mail = mail
    app.state.mail_steps = mail_steps
    app.state.redis_supervisor = supervisor
    return app


def _redact(url: str) -> str:
    """Drop any password from a Redis URL before it reaches a log."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
