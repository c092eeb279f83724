"""Webhook delivery: each endpoint gets its site's feed, in order, at least once.

Every node runs a :class:`WebhookDelivery`. For each endpoint of each site with a feed, one
task tries to hold the endpoint's lease in Redis; the node that holds it delivers, the others
wait, and a node that dies stops renewing, so another takes over within the lease time and
resumes at the endpoint's cursor. Events go out one at a time in feed order (so in order per
conversation); the cursor moves only after a 2xx, in a step fenced by the lease. A failed
event is retried with exponential backoff and jitter (chatserver.core.backoff) until
``CHATSERVER_WEBHOOK_GIVE_UP_S`` has passed since it first failed; then it becomes a dead
letter and the endpoint moves on. Each endpoint has its own task and HTTP timeout: a slow or
dead receiver delays only itself, never a chat or another endpoint.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import httpx
import orjson
from redis.exceptions import RedisError

from chatserver import __version__
from chatserver.config import Settings
from chatserver.core.backoff import retry_delay_ms, should_give_up
from chatserver.feed import payload
from chatserver.log import get_logger
from chatserver.signatures import sign
from chatserver.store import Store
from chatserver.store.webhooks import Webhook
from chatserver.tasks import Background

log = get_logger(__name__)

SCAN_SECONDS = 1.0  # how often sites and endpoints are looked for
POLL_SECONDS = 0.25  # how often an idle endpoint's feed is read
BATCH = 100
RETRY_CAP_MS = 600_000


class WebhookDelivery:
    def __init__(
        self, store: Store, settings: Settings, node: str, clock: Callable[[], int]
    ) -> None:
        self.store, self.settings, self.node, self.clock = store, settings, node, clock
        self.lease_ms = settings.webhook_lease_s * 1000
        self._tasks = Background()
        self._running: dict[tuple[str, str], asyncio.Task[object]] = {}
        self._client: httpx.AsyncClient | None = None
        self.sent = self.failed = 0

    async def start(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=self.settings.webhook_timeout_s,
            follow_redirects=False,
            headers={"User-Agent": f"chatserver-webhooks/{__version__}"},
        )
        self._tasks.spawn(self._scan_loop(), name="webhooks")

    async def stop(self) -> None:
        await self._tasks.stop()
        if self._client is not None:
            await self._client.aclose()

    async def _scan_loop(self) -> None:
        while True:
            try:
                await self._scan()
            except (RedisError, OSError) as exc:
                log.warning("webhook_scan_failed", error=str(exc))
            await asyncio.sleep(SCAN_SECONDS)

    async def _scan(self) -> None:
        wanted: set[tuple[str, str]] = set()
        for site in await self.store.list_sites():
            if await self.store.feed_enabled(site):
                wanted |= {(site, hook.id) for hook in await self.store.webhooks(site)}
        for key, task in list(self._running.items()):
            if key not in wanted or task.done():
                task.cancel()
                del self._running[key]
        for key in wanted - set(self._running):
            self._running[key] = self._tasks.spawn(self._endpoint(*key), name=f"webhook-{key[1]}")

    async def _endpoint(self, site: str, endpoint_id: str) -> None:
        bound = log.bind(site=site, endpoint=endpoint_id)
        while True:
            try:
                wait = await self._turn(site, endpoint_id)
            except (RedisError, OSError) as exc:
                bound.warning("webhook_step_failed", error=str(exc))
                wait = 1.0
            await asyncio.sleep(wait)

    async def _step(self, site: str, endpoint_id: str, *args: str | int) -> list[str]:
        return await self.store.webhook_step(
            site, endpoint_id, self.node, self.clock(), self.lease_ms, *args
        )

    async def _turn(self, site: str, endpoint_id: str) -> float:
        """Deliver what is due; returns the seconds to wait before the next turn."""
        if (await self._step(site, endpoint_id, "lease"))[0] != "ok":
            return self.lease_ms / 3000  # another node delivers; be ready to take over
        hook = await self.store.webhook(site, endpoint_id)
        if hook is None:
            return SCAN_SECONDS
        entries = await self.store.feed_after(site, hook.cursor, BATCH)
        skipped: str | None = None
        for entry_id, fields in entries:
            if not hook.wants(fields.get("t", "")):
                skipped = entry_id
                continue
            if skipped is not None:
                await self._step(site, endpoint_id, "done", skipped, 0, 0)
                skipped = None
            body = orjson.dumps(payload(site, entry_id, fields))
            status, error = await self._post(hook, entry_id, fields.get("t", ""), body)
            if 200 <= status < 300:
                self.sent += 1
                if (await self._step(site, endpoint_id, "done", entry_id, 1, status))[0] != "ok":
                    return 0.0  # the lease was lost meanwhile: start over from Redis
                continue
            self.failed += 1
            res = await self._step(site, endpoint_id, "failed", status, error[:200])
            if res[0] != "ok":
                return 0.0
            attempts, since = int(res[1]), int(res[2])
            now = self.clock()
            if should_give_up(since, now, self.settings.webhook_give_up_s * 1000):
                record = orjson.dumps(
                    {
                        "id": entry_id,
                        "type": fields.get("t", ""),
                        "since": since,
                        "last_status": status,
                        "last_error": error[:200],
                        "attempts": attempts,
                    }
                )
                await self._step(site, endpoint_id, "dead", entry_id, record.decode())
                log.warning(
                    "webhook_dead_letter", site=site, endpoint=endpoint_id, event_id=entry_id
                )
                return 0.0
            delay = retry_delay_ms(
                attempts, self.settings.webhook_retry_base_ms, RETRY_CAP_MS, random.random()
            )
            return await self._wait_holding(site, endpoint_id, delay / 1000)
        if skipped is not None:
            await self._step(site, endpoint_id, "done", skipped, 0, 0)
        return 0.0 if len(entries) == BATCH else POLL_SECONDS

    async def _wait_holding(self, site: str, endpoint_id: str, seconds: float) -> float:
        """Wait out a backoff while keeping the lease (renewed every third of its time)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while (left := end - loop.time()) > 0:
            await asyncio.sleep(min(left, self.lease_ms / 3000))
            if (await self._step(site, endpoint_id, "lease"))[0] != "ok":
                break
        return 0.0

    async def _post(
        self, hook: Webhook, event_id: str, event_type: str, body: bytes
    ) -> tuple[int, str]:
        assert self._client is not None
        timestamp = self.clock() // 1000
        headers = {
            "Content-Type": "application/json",
            "Chatserver-Event-Id": event_id,
            "Chatserver-Event-Type": event_type,
            "Chatserver-Timestamp": str(timestamp),
            "Chatserver-Signature": sign(hook.secret, timestamp, body),
        }
        try:
            resp = await self._client.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return 0, f"{type(exc).__name__}: {exc}"[:200]
        return resp.status_code, "" if resp.is_success else f"HTTP {resp.status_code}"
