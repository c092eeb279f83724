"""The admin page of a site's shared canned responses (``/admin/sites/{site}/canned``).

Admins of any site and the site's own supervisors change the set; other supervisors see it
read-only (as every admin page); agents get 403. Each agent's personal set is theirs alone,
kept from the console (console.api_routes).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.core.canned import shortcut_key
from chatserver.files import canned as canned_files
from chatserver.files.service import Refused, too_large
from chatserver.sessions import VIEW_ROLES
from console.admin_audit import record
from console.admin_common import (
    back,
    form_fields,
    managed_site,
    manages_site,
    page_context,
    site_or_404,
)
from console.admin_forms import Problem, canned_fields
from console.common import page, render, services_of


async def _canned_page(
    request: Request, me: dict[str, str], site_id: str, status: int = 200, **extra: Any
) -> Response:
    store = services_of(request).store
    items = await store.canned_responses(site_id)
    files = await store.canned_files(site_id)
    uses = await store.canned_uses(site_id)
    extra.setdefault("new", {})  # what the admin typed, when the form is shown again
    ctx = page_context(
        request,
        me,
        site_id=site_id,
        items=items,
        files=files,
        uses=uses,
        can_manage=manages_site(me, site_id),
        **extra,
    )
    return render(request, "admin_canned.html", ctx, status)


@page(VIEW_ROLES)
async def canned(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    return await _canned_page(request, me, found[0])


async def _chosen_file(request: Request) -> tuple[str, bytes] | None:
    """The (name, bytes) of the form's file field; None when no file was chosen."""
    upload = (await request.form()).get("file")
    if isinstance(upload, str) or upload is None or not (upload.filename or upload.size):
        return None
    limit = services_of(request).settings.file_max_bytes
    if upload.size is not None and upload.size > limit:
        raise too_large(limit)
    return upload.filename or "", await upload.read(limit + 1)


@page(VIEW_ROLES)
async def canned_save(request: Request, me: dict[str, str]) -> Response:
    """Save the text; a chosen file replaces the one it had (none chosen: it keeps it)."""
    site_id = await managed_site(request, me)
    if isinstance(site_id, Response):
        return site_id
    form = form_fields(await request.form())
    shortcut, text, errors = canned_fields(form)
    if errors:
        return await _canned_page(request, me, site_id, 400, errors=errors, new=form)
    services, detail = services_of(request), f"/{shortcut}"
    try:
        chosen = await _chosen_file(request)
        if chosen is None:
            await services.store.save_canned(site_id, shortcut, text)
        else:
            meta = await canned_files.attach(services.files, site_id, shortcut, text, *chosen)
            detail += f" with file {meta['name']!r}"
    except Refused as exc:
        problem = Problem("admin.err_file_refused", code=exc.code, detail=exc.message)
        return await _canned_page(request, me, site_id, exc.status, errors=[problem], new=form)
    await record(request, me, site_id, "canned_saved", detail)
    return back(f"/admin/sites/{site_id}/canned")


def _form_shortcut(form: dict[str, str]) -> str:
    """The canonical shortcut a row's form names ('' for none: nothing has it)."""
    return shortcut_key(form.get("shortcut", "")[:40]) or ""


@page(VIEW_ROLES)
async def canned_file_remove(request: Request, me: dict[str, str]) -> Response:
    site_id = await managed_site(request, me)
    if isinstance(site_id, Response):
        return site_id
    shortcut = _form_shortcut(form_fields(await request.form()))
    if shortcut and await canned_files.remove(services_of(request).files, site_id, shortcut):
        await record(request, me, site_id, "canned_saved", f"/{shortcut} file removed")
    return back(f"/admin/sites/{site_id}/canned", "file-removed")


@page(VIEW_ROLES)
async def canned_delete(request: Request, me: dict[str, str]) -> Response:
    site_id = await managed_site(request, me)
    if isinstance(site_id, Response):
        return site_id
    shortcut = _form_shortcut(form_fields(await request.form()))
    if shortcut:
        await canned_files.delete(services_of(request).files, site_id, shortcut)
        await record(request, me, site_id, "canned_deleted", f"/{shortcut}")
    return back(f"/admin/sites/{site_id}/canned", "deleted")


routes = [
    Route("/admin/sites/{site}/canned", canned, methods=["GET"]),
    Route("/admin/sites/{site}/canned", canned_save, methods=["POST"]),
    Route("/admin/sites/{site}/canned/delete", canned_delete, methods=["POST"]),
    Route("/admin/sites/{site}/canned/file/remove", canned_file_remove, methods=["POST"]),
]
