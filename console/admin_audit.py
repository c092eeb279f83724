"""The admin pages' audit log: a site's entries newest first, filtered (action, actor, text,
dates) and paged, exported as CSV with the same filters; and the log of failed sign-ins with
e-mails no account has (installation-wide). Admins only: it shows who did what, and from
which address.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from chatserver.core.audit import ACTION_GROUPS, CSV_HEADER, AuditQuery, csv_safe
from chatserver.store.audit import ACCOUNT_AUDIT_LENGTH
from chatserver.store.supervision import AUDIT_LENGTH
from console.admin_common import page_context, site_or_404
from console.admin_forms import Problem, when_utc
from console.common import CHANGE_ROLES, client_ip, page, render, services_of
from console.i18n import msg

PAGE_SIZE = 50
_STREAM_ID = "0123456789-"
# The words the page shows for the actions and their groups (chatserver.core.audit names
# them in English; a log may hold an action this version does not list: shown as stored).
ACTION_KEYS = {
    "sign_in": "admin.action_sign_in",
    "sign_in_failed": "admin.action_sign_in_failed",
    "two_factor_enabled": "admin.action_two_factor_enabled",
    "two_factor_disabled": "admin.action_two_factor_disabled",
    "two_factor_reset": "admin.action_two_factor_reset",
    "recovery_code_used": "admin.action_recovery_code_used",
    "session_revoked": "admin.action_session_revoked",
    "password_reset": "admin.action_password_reset",
    "site_created": "admin.action_site_created",
    "site_settings": "admin.action_site_settings",
    "agent_created": "admin.action_agent_created",
    "agent_updated": "admin.action_agent_updated",
    "agent_deactivated": "admin.action_agent_deactivated",
    "agent_reactivated": "admin.action_agent_reactivated",
    "canned_saved": "admin.action_canned_saved",
    "canned_deleted": "admin.action_canned_deleted",
    "webhook_created": "admin.action_webhook_created",
    "webhook_removed": "admin.action_webhook_removed",
    "webhook_replayed": "admin.action_webhook_replayed",
    "api_key_created": "admin.action_api_key_created",
    "api_key_revoked": "admin.action_api_key_revoked",
    "identity_secret_rotated": "admin.action_identity_secret_rotated",
    "notice_posted": "admin.action_notice_posted",
    "notice_ended": "admin.action_notice_ended",
    "article_saved": "help.action_article_saved",
    "article_deleted": "help.action_article_deleted",
    "api_key_used": "admin.action_api_key_used",
    "monitor": "admin.action_monitor",
    "unmonitor": "admin.action_unmonitor",
    "whisper": "admin.action_whisper",
    "join": "admin.action_join",
    "leave": "admin.action_leave",
    "take_over": "admin.action_take_over",
    "export": "admin.action_export",
    "erase": "admin.action_erase",
    "csv_export": "admin.action_csv_export",
}
GROUP_KEYS = {
    "Sign-in": "admin.group_sign_in",
    "Admin changes": "admin.group_admin_changes",
    "API": "admin.group_api",
    "Supervision": "admin.group_supervision",
    "Privacy": "admin.group_privacy",
}


async def record(
    request: Request, me: dict[str, str], site: str, action: str, detail: str = ""
) -> None:
    """Write an admin's change to the site's audit log (who: ``me``; from which address)."""
    services = services_of(request)
    await services.store.audit(
        site,
        action,
        me["id"],
        me.get("name", ""),
        services.hub.clock(),
        f"{detail}, from {client_ip(request)}" if detail else f"from {client_ip(request)}",
    )


def _day(raw: str, end: bool) -> tuple[int, str]:
    """A date typed as YYYY-MM-DD (UTC) as ms: its first moment, or its last with ``end``."""
    raw = raw.strip()[:10]
    if not raw:
        return 0, ""
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return 0, Problem("admin.err_date", typed=repr(raw))
    if end:
        day += timedelta(days=1)
    return int(day.timestamp() * 1000) - (1 if end else 0), ""


def query_of(params: dict[str, str]) -> tuple[AuditQuery, list[str]]:
    """The filters of the page's form (also the CSV link's query string)."""
    errors: list[str] = []
    action = params.get("action", "").strip()[:40]
    # Any well-formed name: a log may hold actions this version does not list.
    if action and not (action.replace("_", "").isalpha() and action.isascii()):
        errors.append(Problem("admin.err_action", typed=repr(action)))
        action = ""
    since, err_since = _day(params.get("since", ""), False)
    until, err_until = _day(params.get("until", ""), True)
    errors += [e for e in (err_since, err_until) if e]
    query = AuditQuery(
        action=action,
        actor=params.get("actor", "").strip()[:64],
        text=params.get("q", "").strip()[:200],
        since=since,
        until=until,
    )
    return query, errors


def _before(params: dict[str, str]) -> str | None:
    raw = params.get("before", "")[:40]
    return raw if raw and all(ch in _STREAM_ID for ch in raw) and "-" in raw else None


async def _log_page(request: Request, me: dict[str, str], site: str | None) -> Response:
    params = dict(request.query_params)
    query, errors = query_of(params)
    store = services_of(request).store
    entries, cursor = await store.audit_search(site, query, _before(params), PAGE_SIZE)
    names: dict[str, str] = {}
    if site is not None:
        names = {
            a["id"]: a.get("name", "") for a in await store.list_accounts() if a.get("site") == site
        }
    filters = {k: params.get(k, "") for k in ("action", "actor", "q", "since", "until")}
    base = f"/admin/sites/{site}/audit" if site is not None else "/admin/audit/sign-ins"
    ctx: dict[str, Any] = page_context(
        request,
        me,
        site_id=site,
        entries=entries,
        next_cursor=cursor,
        filters=filters,
        filter_query=urlencode({k: v for k, v in filters.items() if v}),
        action_groups=ACTION_GROUPS,
        action_keys=ACTION_KEYS,
        group_keys=GROUP_KEYS,
        actors=sorted(names.items(), key=lambda kv: kv[1].lower()),
        base=base,
        kept=AUDIT_LENGTH if site is not None else ACCOUNT_AUDIT_LENGTH,
        first_page=_before(params) is None,
    )
    ctx["errors"] = errors
    return render(request, "admin_audit.html", ctx, 400 if errors else 200)


@page(CHANGE_ROLES)
async def audit_home(request: Request, me: dict[str, str]) -> Response:
    return RedirectResponse(f"/admin/sites/{me['site']}/audit", status_code=303)


@page(CHANGE_ROLES)
async def site_audit(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    return await _log_page(request, me, found[0])


@page(CHANGE_ROLES)
async def unknown_sign_ins(request: Request, me: dict[str, str]) -> Response:
    return await _log_page(request, me, None)


async def _csv_rows(request: Request, site: str | None, query: AuditQuery) -> AsyncIterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    # The column names (CSV_HEADER) and the times stay English and UTC whatever the reader's
    # language: the file is data for other programs, not a page.
    # A byte-order mark: spreadsheet programs then read the file as UTF-8 (Persian names).
    out.write("\ufeff")
    writer.writerow(CSV_HEADER)
    async for e in services_of(request).store.audit_export(site, query):
        writer.writerow(
            [
                e.id,
                when_utc(e.ts),
                str(e.ts),
                csv_safe(e.actor_id),
                csv_safe(e.actor_name),
                e.action,
                csv_safe(e.conv_id),
                csv_safe(e.detail),
            ]
        )
        if out.tell() > 32_000:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


async def _csv(request: Request, me: dict[str, str], site: str | None, name: str) -> Response:
    query, errors = query_of(dict(request.query_params))
    if errors:
        first = errors[0]
        reason = msg(first.key, **first.values) if isinstance(first, Problem) else first
        return render(request, "forbidden.html", {"me": me, "reason": reason}, 400)
    stamp = datetime.fromtimestamp(services_of(request).hub.clock() / 1000, UTC)
    filename = f"audit-{name}-{stamp:%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        _csv_rows(request, site, query),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@page(CHANGE_ROLES)
async def site_audit_csv(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    return await _csv(request, me, found[0], found[0])


@page(CHANGE_ROLES)
async def unknown_sign_ins_csv(request: Request, me: dict[str, str]) -> Response:
    return await _csv(request, me, None, "unknown-accounts")


routes = [
    Route("/admin/audit", audit_home, methods=["GET"]),
    Route("/admin/audit/sign-ins", unknown_sign_ins, methods=["GET"]),
    Route("/admin/audit/sign-ins.csv", unknown_sign_ins_csv, methods=["GET"]),
    Route("/admin/sites/{site}/audit", site_audit, methods=["GET"]),
    Route("/admin/sites/{site}/audit.csv", site_audit_csv, methods=["GET"]),
]
