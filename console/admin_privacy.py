"""The admin page of a site's privacy: how long it keeps ended conversations (retention and
its progress), and finding one person to export or erase their data (chatserver.privacy;
docs/privacy.md says what is kept and what erasure leaves)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.core.retention import MAX_RETENTION_DAYS, parse_retention_days, retention_days
from chatserver.privacy import Person, erase_person, export_person, find
from chatserver.store import StoreError
from console.admin_common import back, form_fields, now_ms, page_context, site_or_404
from console.admin_forms import Problem
from console.common import CHANGE_ROLES, page, render, services_of

CONFIRM_WORD = "erase"
# chatserver.privacy's problems with a query, as the page says them.
_PERSON_PROBLEMS = {
    "give a visitor_id, an email or a user_id": "admin.err_person_missing",
    "a visitor_id, email or user_id is at most 254 characters": "admin.err_person_long",
}


def _problem(person: Person) -> str:
    """What is wrong with the query ('' when nothing), in the page's words."""
    text = person.problem()
    return Problem(_PERSON_PROBLEMS[text]) if text in _PERSON_PROBLEMS else text


def _url(site_id: str) -> str:
    return f"/admin/sites/{site_id}/privacy"


def _person(fields: dict[str, str]) -> Person:
    return Person(
        fields.get("visitor_id", "").strip(),
        fields.get("email", "").strip(),
        fields.get("user_id", "").strip(),
    )


def _by(me: dict[str, str]) -> tuple[str, str]:
    return me.get("id", ""), me.get("name", "")


async def _privacy_page(
    request: Request,
    me: dict[str, str],
    site_id: str,
    settings: dict[str, str],
    status: int = 200,
    **extra: Any,
) -> Response:
    store = services_of(request).store
    query = dict(request.query_params)
    person = extra.pop("person", None) or _person(query)
    found = None
    if not person.problem():
        found = await find(store, site_id, person)
    ctx = page_context(
        request,
        me,
        site_id=site_id,
        retention=retention_days(settings),
        progress=await store.retention_progress(site_id),
        person=person,
        found=found,
        confirm_word=CONFIRM_WORD,
        **extra,
    )
    return render(request, "admin_privacy.html", ctx, status)


@page(CHANGE_ROLES)
async def privacy(request: Request, me: dict[str, str]) -> Response:
    site = await site_or_404(request, me)
    if isinstance(site, Response):
        return site
    return await _privacy_page(request, me, *site)


@page(CHANGE_ROLES)
async def retention_save(request: Request, me: dict[str, str]) -> Response:
    site = await site_or_404(request, me)
    if isinstance(site, Response):
        return site
    site_id, settings = site
    fields = form_fields(await request.form())
    try:
        days = parse_retention_days(fields.get("retention_days", ""))
    except ValueError:
        problem = Problem("admin.err_retention", max=MAX_RETENTION_DAYS)
        return await _privacy_page(request, me, site_id, settings, 400, errors=[problem])
    store = services_of(request).store
    await store.update_site(site_id, {"retention_days": str(days)})
    await store.audit(site_id, "site_settings", *_by(me), now_ms(request), f"retention_days={days}")
    return back(_url(site_id), "retention")


@page(CHANGE_ROLES)
async def export(request: Request, me: dict[str, str]) -> Response:
    site = await site_or_404(request, me)
    if isinstance(site, Response):
        return site
    site_id, settings = site
    person = _person(form_fields(await request.form()))
    if person.problem():
        return await _privacy_page(request, me, site_id, settings, 400, errors=[_problem(person)])
    doc = await export_person(services_of(request).store, site_id, person, _by(me), now_ms(request))
    name = f"chatserver-export-{site_id}-{now_ms(request)}.json"
    return Response(
        orjson.dumps(doc, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@page(CHANGE_ROLES)
async def erase(request: Request, me: dict[str, str]) -> Response:
    site = await site_or_404(request, me)
    if isinstance(site, Response):
        return site
    site_id, settings = site
    fields = form_fields(await request.form())
    person = _person(fields)
    problem = _problem(person)
    if not problem and fields.get("confirm", "").strip().lower() != CONFIRM_WORD:
        problem = Problem("admin.err_confirm", word=CONFIRM_WORD)
    if problem:
        return await _privacy_page(
            request, me, site_id, settings, 400, errors=[problem], person=person
        )
    try:
        services = services_of(request)
        done = await erase_person(
            services.store,
            site_id,
            person,
            _by(me),
            now_ms(request),
            services.files.forget_conversation,
        )
    except StoreError as exc:
        return await _privacy_page(
            request, me, site_id, settings, 409, errors=[exc.detail or exc.code], person=person
        )
    return await _privacy_page(
        request, me, site_id, settings, erased=done, person=Person(), erased_who=person
    )


routes = [
    Route("/admin/sites/{site}/privacy", privacy, methods=["GET"]),
    Route("/admin/sites/{site}/privacy/retention", retention_save, methods=["POST"]),
    Route("/admin/sites/{site}/privacy/export", export, methods=["POST"]),
    Route("/admin/sites/{site}/privacy/erase", erase, methods=["POST"]),
]
