"""`GET /metrics`: Prometheus text format, rendered with prometheus-client.

Two kinds of series (docs/metrics.md):

- this node's own (label-free of site): open sockets, error frames sent, warnings and errors
  logged, Redis PING round trips, pipelined Redis round trips. Sum them over nodes.
- each site's, read from Redis at scrape time, the same on every node (take ``max`` over
  nodes, or scrape one): queue length, longest wait, agents by status, open conversations,
  messages stored, conversation events, and the wait, first-response and response time
  histograms (cumulative since the rollups began, folded exactly once across nodes).

Access: with ``CHATSERVER_METRICS_TOKEN`` set, a request must carry ``Authorization: Bearer
<token>``; without it, only clients on the host itself (loopback) are answered.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from chatserver.core.estimate import EstimateAccuracy
from chatserver.core.follow import parse_id
from chatserver.core.window_figures import COUNTED_KINDS, HISTOGRAM_BOUNDS_S, HISTOGRAM_KINDS
from chatserver.dashboards import Dashboards
from chatserver.log import LOG_EVENTS
from chatserver.protocol import ERROR_FRAMES
from chatserver.services import Services

_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class _Families(Collector):
    """Metric families gathered (asynchronously) before rendering."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def allowed(request: Request, token: str) -> bool:
    if token:
        given = request.headers.get("authorization", "")
        return given.lower().startswith("bearer ") and hmac.compare_digest(
            given[7:].strip().encode(), token.encode()
        )
    return request.client is not None and request.client.host in _LOOPBACK


async def metrics_endpoint(request: Request) -> Response:
    services: Services = request.app.state.services
    dashboards: Dashboards = request.app.state.dashboards
    if not allowed(request, services.settings.metrics_token):
        return PlainTextResponse("forbidden: see docs/metrics.md\n", status_code=403)
    await dashboards.ping()
    families = node_families(services, dashboards)
    for site in await services.store.list_sites(fresh=True):
        families += await site_families(services, site, dashboards)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(_merge(families)))
    body = generate_latest(registry) + generate_latest(dashboards.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def node_families(services: Services, dashboards: Dashboards) -> list[Metric]:
    hub = services.hub
    conns = GaugeMetricFamily(
        "chatserver_connections", "Open WebSockets on this node", labels=["role"]
    )
    for role, count in hub.socket_counts().items():
        conns.add_metric([role], count)
    conns.add_metric(["dashboard"], sum(len(c) for c in dashboards.watchers.values()))
    errors = CounterMetricFamily(
        "chatserver_error_frames", "Error frames this node sent to clients", labels=["code"]
    )
    for code, n in sorted(ERROR_FRAMES.items()):
        errors.add_metric([code], n)
    logged = CounterMetricFamily(
        "chatserver_log_events", "Warnings and errors this node logged", labels=["level"]
    )
    for level, n in sorted(LOG_EVENTS.items()):
        logged.add_metric([level], n)
    trips = CounterMetricFamily(
        "chatserver_redis_round_trips", "Pipelined script round trips to Redis from this node"
    )
    trips.add_metric([], services.store.scripts.round_trips)
    return [conns, errors, logged, trips, *estimate_families(hub.estimate_accuracy)]


def estimate_families(accuracy: dict[str, EstimateAccuracy]) -> list[Metric]:
    """How right the wait estimates were: the first estimate each queued visitor on this node
    saw against the wait it really had, over the last 500 such visitors per site."""
    checked = CounterMetricFamily(
        "chatserver_wait_estimates_checked",
        "Queued visitors on this node whose first wait estimate was compared with their wait",
        labels=["site"],
    )
    error = GaugeMetricFamily(
        "chatserver_wait_estimate_error_seconds",
        "Error of the first wait estimate (actual minus estimated): median and p90 of the "
        "absolute error, and the median signed error (bias)",
        labels=["site", "stat"],
    )
    for site, acc in sorted(accuracy.items()):
        checked.add_metric([site], acc.count)
        for stat, value in acc.summary().items():
            error.add_metric([site, stat.removesuffix("_s")], value)
    return [checked, error]


async def site_families(services: Services, site: str, dashboards: Dashboards) -> list[Metric]:
    store = services.store
    live = await dashboards.live(site)  # every open conversation, read in pages
    panel = live.now.figures(live.agents)
    queue, team = panel["queue"], panel["agents"]
    hist = await store.histograms(site)
    counts = await store.message_counts(site)

    qlen = GaugeMetricFamily(
        "chatserver_queue_length", "Visitors queued", labels=["site", "department"]
    )
    for dept, n in queue["by_department"].items():
        qlen.add_metric([site, dept], n)
    longest = GaugeMetricFamily(
        "chatserver_queue_longest_wait_seconds",
        "Longest current wait in the queue",
        labels=["site"],
    )
    longest.add_metric([site], (queue["longest_wait_ms"] or 0) / 1000)
    agents = GaugeMetricFamily("chatserver_agents", "Agents by status", labels=["site", "status"])
    for status in ("online", "away", "offline"):
        agents.add_metric([site, status], team[status])
    open_convs = GaugeMetricFamily(
        "chatserver_conversations_open", "Conversations not yet ended", labels=["site"]
    )
    open_convs.add_metric([site], live.now.open_count)
    unowned = GaugeMetricFamily(
        "chatserver_conversations_unowned",
        "Open conversations with neither an owner nor a queue entry (alert when above 0)",
        labels=["site"],
    )
    unowned.add_metric([site], panel["unowned"]["count"])
    messages = CounterMetricFamily(
        "chatserver_messages", "Messages stored", labels=["site", "kind"]
    )
    for kind in ("visitor", "agent", "bot"):
        messages.add_metric([site, kind], counts.get(kind, 0))
    events = CounterMetricFamily(
        "chatserver_conversation_events",
        "Conversations started, missed, abandoned, resolved; response targets breached",
        labels=["site", "event"],
    )
    for kind in COUNTED_KINDS:
        events.add_metric([site, kind], hist.get(f"events|{kind}", 0))
    out: list[Metric] = [qlen, longest, agents, open_convs, unowned, messages, events]
    out += await webhook_families(services, site)
    for kind in HISTOGRAM_KINDS:
        family = HistogramMetricFamily(
            f"chatserver_{kind}_seconds",
            {
                "wait": "Queue wait until an agent was assigned",
                "first_response": "Visitor's first message to the first agent reply",
                "response": "Each unanswered visitor turn to the next agent reply",
            }[kind],
            labels=["site"],
        )
        buckets: list[tuple[str, float]] = [
            (str(float(b)), hist.get(f"{kind}|{b}", 0)) for b in HISTOGRAM_BOUNDS_S
        ]
        buckets.append(("+Inf", hist.get(f"{kind}|count", 0)))
        family.add_metric([site], buckets, hist.get(f"{kind}|sum", 0) / 1000)
        out.append(family)
    return out


async def webhook_families(services: Services, site: str) -> list[Metric]:
    """Per webhook endpoint: events delivered, failed tries, dead letters, the last HTTP
    status, and the lag: how far (in time) its cursor is behind the newest event."""
    store = services.store
    hooks = await store.webhooks(site)
    last = await store.feed_last_id(site) if hooks else "0-0"
    labels = ["site", "endpoint"]
    delivered = CounterMetricFamily(
        "chatserver_webhook_delivered", "Events a webhook endpoint accepted (2xx)", labels=labels
    )
    failures = CounterMetricFamily(
        "chatserver_webhook_failures", "Failed delivery tries to a webhook endpoint", labels=labels
    )
    dead = GaugeMetricFamily(
        "chatserver_webhook_dead_letters", "Events a webhook endpoint gave up on", labels=labels
    )
    status = GaugeMetricFamily(
        "chatserver_webhook_last_status",
        "HTTP status of the last try (0: no answer)",
        labels=labels,
    )
    lag = GaugeMetricFamily(
        "chatserver_webhook_lag_seconds",
        "Time between the newest event and the last one the endpoint has (0: caught up)",
        labels=labels,
    )
    for hook in hooks:
        key = [site, hook.id]
        delivered.add_metric(key, hook.delivered)
        failures.add_metric(key, hook.failures)
        dead.add_metric(key, hook.dead)
        status.add_metric(key, hook.last_status)
        newest, done = parse_id(last), parse_id(hook.cursor)
        lag.add_metric(key, max(0, newest[0] - done[0]) / 1000 if done < newest else 0.0)
    return [delivered, failures, dead, status, lag]


def _merge(families: list[Metric]) -> list[Metric]:
    """One family per name, holding the samples of every site."""
    merged: dict[str, Metric] = {}
    for family in families:
        if family.name in merged:
            merged[family.name].samples.extend(family.samples)
        else:
            merged[family.name] = family
    return list(merged.values())
