"""The REST API's privacy endpoints: export and erasure of one person (chatserver.privacy)."""

from __future__ import annotations

from typing import Any

from chatserver.api.context import ApiError, Ctx
from chatserver.privacy import Person, erase_person, export_person


def _person(visitor_id: Any, email: Any, user_id: Any) -> Person:
    person = Person(str(visitor_id or "").strip(), str(email or "").strip(), str(user_id or ""))
    if person.problem():
        raise ApiError("invalid_request", person.problem())
    return person


def _by(ctx: Ctx) -> tuple[str, str]:
    return ctx.key.id, f"API key {ctx.key.name}"


async def export(
    ctx: Ctx, visitor_id: str | None = None, email: str | None = None, user_id: str | None = None
) -> dict[str, Any]:
    person = _person(visitor_id, email, user_id)
    return await export_person(ctx.services.store, ctx.site, person, _by(ctx), ctx.now())


async def erase(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    person = _person(body.get("visitor_id"), body.get("email"), body.get("user_id"))
    services = ctx.services
    done = await erase_person(
        services.store, ctx.site, person, _by(ctx), ctx.now(), services.files.forget_conversation
    )
    return {
        "visitors": done.visitors,
        "conversations": done.conversations,
        "entries": done.entries,
    }
