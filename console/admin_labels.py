"""A site's conversation labels: the admin page (Sites › site › Labels) where admins and the
site's own supervisors create, rename, recolour and delete them, and the console's read of
them (``GET /api/console/labels``), whose names and colours the workspace shows.

Every change is checked here on the server (role, the supervisor's site, CSRF token);
what a name or colour may be is chatserver/core/labels.py, uniqueness and the limit are
checked in the step that writes (lua/label_save.lua).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.core.labels import (
    LABEL_ID,
    MAX_LABELS,
    PALETTE,
    LabelError,
    clean_color,
    clean_name,
)
from chatserver.sessions import VIEW_ROLES
from chatserver.store import StoreError
from console.admin_common import back, form_fields, managed_site, not_found, page_context
from console.admin_forms import Problem
from console.api_routes import _refused
from console.common import current_account, page, render, services_of

# The palette's names as the page's colour menu shows them.
COLOR_NAMES = {
    "gray": "admin.label_color_gray",
    "red": "admin.label_color_red",
    "orange": "admin.label_color_orange",
    "yellow": "admin.label_color_yellow",
    "green": "admin.label_color_green",
    "teal": "admin.label_color_teal",
    "blue": "admin.label_color_blue",
    "purple": "admin.label_color_purple",
}
assert tuple(COLOR_NAMES) == PALETTE
_STORE_PROBLEMS = {
    "duplicate": "admin.err_label_duplicate",
    "too_many": "admin.err_label_too_many",
    "not_found": "admin.no_such_label",
}
_FORM_PROBLEMS = {"invalid_name": "admin.err_label_name", "invalid_color": "admin.err_label_color"}


def _url(site_id: str) -> str:
    return f"/admin/sites/{site_id}/labels"


async def _page(
    request: Request, me: dict[str, str], site_id: str, status: int = 200, **extra: Any
) -> Response:
    labels = await services_of(request).store.labels(site_id)
    extra.setdefault("new", {})  # what was typed, when the form is shown again
    ctx = page_context(
        request,
        me,
        site_id=site_id,
        labels=labels,
        colors=COLOR_NAMES,
        max_labels=MAX_LABELS,
        **extra,
    )
    ctx["can_change"] = True  # whoever reaches the page may change it (admin_common.manages_site)
    return render(request, "admin_labels.html", ctx, status)


@page(VIEW_ROLES)
async def labels_page(request: Request, me: dict[str, str]) -> Response:
    site = await managed_site(request, me)
    return site if isinstance(site, Response) else await _page(request, me, site)


async def _save(request: Request, me: dict[str, str], label_id: str) -> Response:
    site = await managed_site(request, me)
    if isinstance(site, Response):
        return site
    form = form_fields(await request.form())
    try:
        name, color = clean_name(form.get("name", "")), clean_color(form.get("color", ""))
    except LabelError as exc:
        problem = Problem(_FORM_PROBLEMS[exc.code])
        return await _page(request, me, site, 400, errors=[problem], new=form)
    try:
        await services_of(request).store.save_label(site, label_id, name, color)
    except StoreError as exc:
        status = 404 if exc.code == "not_found" else 409
        extra = {"n": MAX_LABELS} if exc.code == "too_many" else {}
        problem = Problem(_STORE_PROBLEMS[exc.code], **extra)
        new = {} if label_id else form
        return await _page(request, me, site, status, errors=[problem], new=new)
    return back(_url(site))


@page(VIEW_ROLES)
async def label_create(request: Request, me: dict[str, str]) -> Response:
    return await _save(request, me, "")


@page(VIEW_ROLES)
async def label_update(request: Request, me: dict[str, str]) -> Response:
    label_id = request.path_params["label_id"]
    if not LABEL_ID.match(label_id):
        return not_found(request, me, "admin.no_such_label")
    return await _save(request, me, label_id)


@page(VIEW_ROLES)
async def label_delete(request: Request, me: dict[str, str]) -> Response:
    site = await managed_site(request, me)
    if isinstance(site, Response):
        return site
    label_id = request.path_params["label_id"]
    if not LABEL_ID.match(label_id) or not await services_of(request).store.delete_label(
        site, label_id
    ):
        return not_found(request, me, "admin.no_such_label")
    return back(_url(site), "deleted")


async def console_labels(request: Request) -> Response:
    """The signed-in agent's site's labels, sorted by name: ``{"items": [{id, name, color}]}``."""
    account = await current_account(request)
    if account is None:
        return _refused(request)
    labels = await services_of(request).store.labels(account["site"])
    return JSONResponse({"items": [lab.as_dict() for lab in labels]})


routes = [
    Route("/admin/sites/{site}/labels", labels_page, methods=["GET"]),
    Route("/admin/sites/{site}/labels", label_create, methods=["POST"]),
    Route("/admin/sites/{site}/labels/{label_id}", label_update, methods=["POST"]),
    Route("/admin/sites/{site}/labels/{label_id}/delete", label_delete, methods=["POST"]),
    Route("/api/console/labels", console_labels, methods=["GET"]),
]
