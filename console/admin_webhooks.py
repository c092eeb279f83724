"""The admin page of a site's webhook endpoints: their delivery state, adding one (its
signing secret shown once), removing one, and delivering again from a time or from the
first dead letter (docs/webhooks.md has what is promised to receivers)."""

from __future__ import annotations

import contextlib
import hmac
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.api.webhook_handlers import new_endpoint
from chatserver.core.follow import format_id, parse_id
from chatserver.sessions import VIEW_ROLES
from chatserver.store import StoreError
from chatserver.store.webhooks import Webhook
from console.admin_audit import record
from console.admin_common import (
    back,
    forget_reveal,
    form_fields,
    not_found,
    now_ms,
    page_context,
    reveal,
    revealed,
    site_or_404,
)
from console.admin_forms import EVENT_TYPES, replay_since, webhook_fields, when_utc
from console.common import CHANGE_ROLES, page, render, services_of

# Dead letters the page counts per endpoint; the list itself keeps 10,000 (lua/webhook.lua),
# and a replay reads all of them to find the first.
DEAD_SHOWN = 100
DEAD_KEPT = 10_000


def _url(site_id: str) -> str:
    return f"/admin/sites/{site_id}/webhooks"


async def _hooks_page(
    request: Request, me: dict[str, str], site_id: str, status: int = 200, **extra: Any
) -> Response:
    store = services_of(request).store
    hooks = await store.webhooks(site_id)
    # Dead letters waiting for a replay (the endpoint's "dead" count is a running total).
    waiting = {h.id: len(await store.dead_letters(site_id, h.id, DEAD_SHOWN + 1)) for h in hooks}
    ctx = page_context(
        request,
        me,
        site_id=site_id,
        hooks=hooks,
        waiting=waiting,
        dead_shown=DEAD_SHOWN,
        event_types=EVENT_TYPES,
        new=extra.pop("new", {"events": []}),
        **extra,
    )
    return render(request, "admin_webhooks.html", ctx, status)


async def _site_hook(request: Request, me: dict[str, str]) -> tuple[str, Webhook] | Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    hook = await services_of(request).store.webhook(found[0], request.path_params["hook_id"])
    if hook is None:
        return not_found(request, me, "admin.no_such_webhook")
    return found[0], hook


@page(VIEW_ROLES)
async def webhooks(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    site_id, new_hook = found[0], None
    hook_id, _, secret = revealed(request, me).partition(".")
    hook = await services_of(request).store.webhook(site_id, hook_id) if secret else None
    if hook is not None and hmac.compare_digest(hook.secret, secret):
        new_hook = {"id": hook.id, "url": hook.url, "secret": secret}
    response = await _hooks_page(request, me, site_id, new_hook=new_hook)
    return forget_reveal(request, response, site_id)


@page(CHANGE_ROLES)
async def webhook_create(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    site_id = found[0]
    raw = await request.form()
    chosen = [e for e in raw.getlist("events") if isinstance(e, str)]
    fields, events, errors = webhook_fields(form_fields(raw), chosen)
    if errors:
        shown = {**fields, "events": events}
        return await _hooks_page(request, me, site_id, 400, errors=errors, new=shown)
    endpoint_id, secret = new_endpoint()
    await services_of(request).store.add_webhook(
        site_id, endpoint_id, fields["url"], secret, events, now_ms(request), fields["description"]
    )
    detail = f"{endpoint_id} {fields['url']} ({', '.join(events) or 'every event'})"
    await record(request, me, site_id, "webhook_created", detail)
    url = f"{_url(site_id)}?saved=hook#{endpoint_id}"
    return reveal(request, site_id, url, f"{endpoint_id}.{secret}")


@page(CHANGE_ROLES)
async def webhook_delete(request: Request, me: dict[str, str]) -> Response:
    found = await _site_hook(request, me)
    if isinstance(found, Response):
        return found
    site_id, hook = found
    # Removed meanwhile (another tab, the API) is not an error: what was asked for holds.
    with contextlib.suppress(StoreError):
        await services_of(request).store.remove_webhook(site_id, hook.id)
    await record(request, me, site_id, "webhook_removed", f"{hook.id} {hook.url}")
    return back(_url(site_id), "removed")


def id_before(entry_id: str) -> str:
    """The feed id just before ``entry_id``: delivering after it starts with that entry."""
    ms, seq = parse_id(entry_id)
    if seq:
        return format_id((ms, seq - 1))
    return format_id((ms - 1, 2**64 - 1)) if ms else "0-0"


def _dead_id(record: str) -> str:
    return str(orjson.loads(record).get("id") or "0-0")


async def _replay(request: Request, site_id: str, hook: Webhook, cursor: str) -> Response:
    """Deliver again everything after ``cursor``, as the API's replay does: rewind the
    cursor and clear the dead letters, which go out again with the rest. Two differences
    keep a replay from losing anything: the cursor never moves forward (that would skip
    events not delivered yet), and dead letters are kept unless every one goes out again."""
    store = services_of(request).store
    if parse_id(cursor) >= parse_id(hook.cursor):
        return back(_url(site_id), "behind", f"#{hook.id}")
    dead = await store.dead_letters(site_id, hook.id, DEAD_KEPT)
    await store.rewind_webhook(site_id, hook.id, cursor)
    if all(parse_id(cursor) < parse_id(_dead_id(d)) for d in dead):
        await store.clear_dead_letters(site_id, hook.id)
    return back(_url(site_id), "replayed", f"#{hook.id}")


@page(CHANGE_ROLES)
async def webhook_replay(request: Request, me: dict[str, str]) -> Response:
    found = await _site_hook(request, me)
    if isinstance(found, Response):
        return found
    site_id, hook = found
    since, errors = replay_since(form_fields(await request.form()), now_ms(request))
    if errors:
        return await _hooks_page(request, me, site_id, 400, errors=errors)
    cursor = await services_of(request).store.feed_id_at(site_id, since)
    await record(request, me, site_id, "webhook_replayed", f"{hook.id} since {when_utc(since)}")
    return await _replay(request, site_id, hook, cursor)


@page(CHANGE_ROLES)
async def webhook_replay_dead(request: Request, me: dict[str, str]) -> Response:
    found = await _site_hook(request, me)
    if isinstance(found, Response):
        return found
    site_id, hook = found
    dead = await services_of(request).store.dead_letters(site_id, hook.id, DEAD_KEPT)
    if not dead:
        return back(_url(site_id), "nodead", f"#{hook.id}")
    first = min((_dead_id(d) for d in dead), key=parse_id)
    await record(request, me, site_id, "webhook_replayed", f"{hook.id}: {len(dead)} dead letters")
    return await _replay(request, site_id, hook, id_before(first))


routes = [
    Route("/admin/sites/{site}/webhooks", webhooks, methods=["GET"]),
    Route("/admin/sites/{site}/webhooks", webhook_create, methods=["POST"]),
    Route("/admin/sites/{site}/webhooks/{hook_id}/delete", webhook_delete, methods=["POST"]),
    Route("/admin/sites/{site}/webhooks/{hook_id}/replay", webhook_replay, methods=["POST"]),
    Route(
        "/admin/sites/{site}/webhooks/{hook_id}/replay-dead",
        webhook_replay_dead,
        methods=["POST"],
    ),
]
