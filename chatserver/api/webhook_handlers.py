"""The REST API's webhook endpoints and the event feed (chatserver.feed)."""

from __future__ import annotations

import re
import secrets
from typing import Any

import orjson

from chatserver.api.context import ApiError, Ctx
from chatserver.feed import payload
from chatserver.store.webhooks import Webhook

_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


def valid_url(url: str) -> bool:
    """An http:// or https:// address: what the API and the admin pages accept."""
    return bool(_URL.match(url))


def new_endpoint() -> tuple[str, str]:
    """A new endpoint's id and signing secret, made alike by the API and the admin pages."""
    return f"wh_{secrets.token_urlsafe(9)}", f"whsec_{secrets.token_urlsafe(32)}"


async def _hook(ctx: Ctx, webhook_id: str) -> Webhook:
    hook = await ctx.services.store.webhook(ctx.site, webhook_id)
    if hook is None:
        raise ApiError("not_found", "no such webhook endpoint")
    return hook


async def list_webhooks(ctx: Ctx) -> dict[str, Any]:
    hooks = await ctx.services.store.webhooks(ctx.site)
    return {"items": [h.public() for h in hooks], "next_cursor": None}


async def create_webhook(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    url = str(body["url"]).strip()
    if not valid_url(url):
        raise ApiError("invalid_request", "url must be an http:// or https:// address", "url")
    endpoint_id, secret = new_endpoint()
    store = ctx.services.store
    await store.add_webhook(
        ctx.site,
        endpoint_id,
        url,
        secret,
        list(dict.fromkeys(body.get("events") or [])),
        ctx.now(),
        str(body.get("description", "")),
    )
    hook = await _hook(ctx, endpoint_id)
    # The only time the secret is shown: the receiver needs it to check signatures.
    return {**hook.public(), "secret": secret}


async def get_webhook(ctx: Ctx, webhook_id: str) -> dict[str, Any]:
    return (await _hook(ctx, webhook_id)).public()


async def delete_webhook(ctx: Ctx, webhook_id: str) -> dict[str, Any]:
    await _hook(ctx, webhook_id)
    await ctx.services.store.remove_webhook(ctx.site, webhook_id)
    return {"ok": True}


async def replay_webhook(ctx: Ctx, webhook_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Deliver again from an event id (exclusive) or a time; dead letters are cleared, as
    they are delivered again with the rest."""
    await _hook(ctx, webhook_id)
    store = ctx.services.store
    if ("after_id" in body) == ("since" in body):
        raise ApiError("invalid_request", "give after_id or since", "after_id")
    cursor = body.get("after_id") or await store.feed_id_at(ctx.site, int(body["since"]))
    await store.rewind_webhook(ctx.site, webhook_id, cursor)
    await store.clear_dead_letters(ctx.site, webhook_id)
    return {"ok": True, "message_id": cursor}


async def dead_letters(ctx: Ctx, webhook_id: str) -> dict[str, Any]:
    await _hook(ctx, webhook_id)
    items = await ctx.services.store.dead_letters(ctx.site, webhook_id)
    return {"items": [orjson.loads(i) for i in items], "next_cursor": None}


async def list_events(ctx: Ctx, after: str = "0-0", limit: int = 100) -> dict[str, Any]:
    store = ctx.services.store
    entries = await store.feed_after(ctx.site, after, limit)
    return {
        "items": [payload(ctx.site, entry_id, fields) for entry_id, fields in entries],
        "next_cursor": entries[-1][0] if len(entries) == limit else None,
    }
