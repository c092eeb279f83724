"""The REST API's site notice (GET, PUT, DELETE /api/v1/notice, admin scope): the same
notice the supervisors' dashboard posts (chatserver/notices.py)."""

from __future__ import annotations

from typing import Any

from chatserver import notices
from chatserver.api.context import ApiError, Ctx
from chatserver.core.notices import NoticeError

# Which field of the body each refusal is about.
_FIELDS = {
    "notice_text_required": "text",
    "notice_too_long": "text",
    "invalid_notice": "text",
    "invalid_expiry": "expires_at",
}


async def get_notice(ctx: Ctx) -> dict[str, Any]:
    found = await ctx.services.store.notice(ctx.site, ctx.now())
    return {"notice": found.staff() if found else None}


async def put_notice(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    """Post the site's notice, replacing the one shown; every open widget shows it at once."""
    try:
        posted = await notices.post(
            ctx.services, ctx.site, body, f"key:{ctx.key.id}", ctx.key.name, "REST API"
        )
    except NoticeError as exc:
        raise ApiError("invalid_request", str(exc), _FIELDS.get(exc.code)) from None
    return {"notice": posted.staff()}


async def delete_notice(ctx: Ctx) -> dict[str, Any]:
    ended = await notices.end(ctx.services, ctx.site, f"key:{ctx.key.id}", ctx.key.name, "REST API")
    return {"ended": ended}
