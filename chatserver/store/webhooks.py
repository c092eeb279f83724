"""Webhook endpoints, their delivery state and the site's feed (chatserver.feed)."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from chatserver.store.base import StoreBase, StoreError


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    secret: str
    events: tuple[str, ...]  # empty: every type
    created_at: int
    description: str
    # delivery state
    cursor: str
    delivered: int
    failures: int
    dead: int
    attempts: int  # failed tries of the event at the head, since it last succeeded
    failing_since: int  # ms; 0 while deliveries succeed
    last_status: int
    last_error: str
    last_delivery_at: int

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events

    def public(self) -> dict[str, object]:
        """What the API and the admin page show (never the secret)."""
        return {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "description": self.description,
            "created_at": self.created_at,
            "cursor": self.cursor,
            "delivered": self.delivered,
            "failures": self.failures,
            "dead_letters": self.dead,
            "failing_since": self.failing_since or None,
            "last_status": self.last_status or None,
            "last_error": self.last_error,
            "last_delivery_at": self.last_delivery_at or None,
        }


class WebhookStore(StoreBase):
    def _hook_keys(self, site: str, endpoint_id: str) -> list[str]:
        k = self.k
        return [
            k.webhook_state(site, endpoint_id),
            k.webhook_lease(site, endpoint_id),
            k.webhook_dead(site, endpoint_id),
        ]

    async def add_webhook(
        self,
        site: str,
        endpoint_id: str,
        url: str,
        secret: str,
        events: list[str],
        now: int,
        description: str = "",
    ) -> str:
        """Add an endpoint (and turn the site's feed on); returns the feed id it starts
        after: it gets every event from now on."""
        settings = {
            "url": url,
            "secret": secret,
            "events": events,
            "created_at": now,
            "description": description,
        }
        res = await self.scripts.run(
            "webhook_config",
            [
                self.k.webhooks(site),
                self.k.site(site),
                self.k.feed(site),
                *self._hook_keys(site, endpoint_id),
            ],
            ["add", endpoint_id, orjson.dumps(settings)],
        )
        if res[0] != "ok":
            raise StoreError(str(res[1]))
        return str(res[1])

    async def remove_webhook(self, site: str, endpoint_id: str) -> None:
        res = await self.scripts.run(
            "webhook_config",
            [
                self.k.webhooks(site),
                self.k.site(site),
                self.k.feed(site),
                *self._hook_keys(site, endpoint_id),
            ],
            ["remove", endpoint_id, ""],
        )
        if res[0] != "ok":
            raise StoreError(str(res[1]))

    async def webhooks(self, site: str) -> list[Webhook]:
        raw: dict[str, str] = await self.r.hgetall(self.k.webhooks(site))
        ids = sorted(raw)
        states = await self._hgetall_many([self.k.webhook_state(site, i) for i in ids])
        return [_webhook(i, raw[i], st) for i, st in zip(ids, states, strict=True)]

    async def webhook(self, site: str, endpoint_id: str) -> Webhook | None:
        raw = await self.r.hget(self.k.webhooks(site), endpoint_id)
        if raw is None:
            return None
        state: dict[str, str] = await self.r.hgetall(self.k.webhook_state(site, endpoint_id))
        return _webhook(endpoint_id, raw, state)

    async def feed_enabled(self, site: str) -> bool:
        return bool(await self.r.hget(self.k.site(site), "feed") == "1")

    async def feed_after(
        self, site: str, after: str, count: int
    ) -> list[tuple[str, dict[str, str]]]:
        entries: list[tuple[str, dict[str, str]]] = await self.r.xrange(
            self.k.feed(site), min=f"({after}" if after != "0-0" else "-", max="+", count=count
        )
        return entries

    async def feed_last_id(self, site: str) -> str:
        last: list[tuple[str, dict[str, str]]] = await self.r.xrevrange(self.k.feed(site), count=1)
        return last[0][0] if last else "0-0"

    async def feed_id_at(self, site: str, ms: int) -> str:
        """The id just before the first event at or after ``ms`` (to replay from a time)."""
        if ms <= 0:
            return "0-0"
        before: list[tuple[str, dict[str, str]]] = await self.r.xrevrange(
            self.k.feed(site), max=f"({ms}-0", min="-", count=1
        )
        return before[0][0] if before else "0-0"

    async def webhook_step(
        self, site: str, endpoint_id: str, node: str, now: int, lease_ms: int, *args: str | int
    ) -> list[str]:
        """One fenced step (see lua/webhook.lua): ['lost'] when another node holds it."""
        res = await self.scripts.run(
            "webhook", self._hook_keys(site, endpoint_id), [args[0], node, now, lease_ms, *args[1:]]
        )
        return [str(x) for x in res]

    async def rewind_webhook(self, site: str, endpoint_id: str, cursor: str) -> None:
        """Deliver again everything after ``cursor`` (the receiver dedupes by event id)."""
        await self.r.hset(
            self.k.webhook_state(site, endpoint_id),
            mapping={"cursor": cursor, "failing_since": "", "attempts": 0},
        )

    async def dead_letters(self, site: str, endpoint_id: str, limit: int = 100) -> list[str]:
        items: list[str] = await self.r.lrange(self.k.webhook_dead(site, endpoint_id), -limit, -1)
        return items

    async def clear_dead_letters(self, site: str, endpoint_id: str) -> None:
        await self.r.delete(self.k.webhook_dead(site, endpoint_id))


def _webhook(endpoint_id: str, raw: str, st: dict[str, str]) -> Webhook:
    cfg = orjson.loads(raw)

    def num(name: str) -> int:
        value = st.get(name) or "0"
        return int(value) if value.isdigit() else 0

    return Webhook(
        id=endpoint_id,
        url=str(cfg.get("url", "")),
        secret=str(cfg.get("secret", "")),
        events=tuple(cfg.get("events") or ()),
        created_at=int(cfg.get("created_at") or 0),
        description=str(cfg.get("description", "")),
        cursor=st.get("cursor") or "0-0",
        delivered=num("delivered"),
        failures=num("failures"),
        dead=num("dead"),
        attempts=num("attempts"),
        failing_since=num("failing_since"),
        last_status=num("last_status"),
        last_error=st.get("last_error", ""),
        last_delivery_at=num("last_delivery_at"),
    )
