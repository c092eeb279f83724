"""Admin pages: agents, sites (settings, lifecycle policy, REST API keys and the identity
secret); each site's webhook endpoints are in console.admin_webhooks, its canned responses in
console.admin_canned.

Admins change; supervisors see the same pages read-only; agents get 403. Every change is
checked here on the server (role and CSRF token), whatever the page showed.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from chatserver.api_keys import SCOPES
from chatserver.api_keys import matches as key_matches
from chatserver.api_keys import parse as parse_key
from chatserver.auth import ROLES, hash_password, off_loop
from chatserver.config import valid_site_name
from chatserver.core.departments import parse_departments
from chatserver.core.policy import SitePolicy
from chatserver.identity import MAX_AGE_S
from chatserver.sessions import VIEW_ROLES, close_session_sockets
from chatserver.store import StoreError
from console import admin_canned, admin_webhooks
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
from console.admin_forms import (
    DAY_KEYS,
    DAY_LABELS,
    POLICY_KEYS,
    Problem,
    agent_fields,
    api_key_fields,
    department_hours_problem,
    department_hours_rows,
    office_hours_form,
    site_fields,
)
from console.common import CHANGE_ROLES, page, render, services_of


# --- agents -------------------------------------------------------------------------------
async def _agents_page(
    request: Request, me: dict[str, str], status: int = 200, **extra: Any
) -> Response:
    store = services_of(request).store
    accounts = await store.list_accounts()
    for account in accounts:
        state = await store.agent_state(account.get("site", ""), account["id"])
        account["presence"] = state.get("status", "offline") if state else "offline"
        account["load"] = str(
            len(await store.agent_conversation_ids(account["site"], account["id"]))
        )
    ctx = page_context(
        request, me, accounts=accounts, sites=await store.list_sites(fresh=True), roles=ROLES
    )
    ctx.update(extra)
    return render(request, "admin_agents.html", ctx, status)


@page(VIEW_ROLES)
async def agents(request: Request, me: dict[str, str]) -> Response:
    return await _agents_page(request, me, new={"role": "agent", "capacity": "3"})


@page(CHANGE_ROLES)
async def agent_create(request: Request, me: dict[str, str]) -> Response:
    store = services_of(request).store
    form = form_fields(await request.form())
    fields, errors = agent_fields(form, creating=True)
    site = form.get("site", "")
    if site not in await store.list_sites(fresh=True):
        errors.append(Problem("admin.err_choose_site"))
    if not errors:
        try:
            await store.create_agent(
                fields["email"],
                fields["name"],
                await off_loop(hash_password, fields["password"]),
                site=site,
                role=fields["role"],
                capacity=int(fields["capacity"]),
                departments=parse_departments(fields["departments"]),
            )
        except StoreError:
            errors.append(Problem("admin.err_agent_exists", email=fields["email"]))
    if errors:
        form.pop("password", None)
        return await _agents_page(request, me, 400, errors=errors, new=form)
    await record(request, me, site, "agent_created", f"{fields['email']} as {fields['role']}")
    return back("/admin/agents", "added")


async def _account_or_404(request: Request, me: dict[str, str]) -> dict[str, str] | Response:
    account = await services_of(request).store.get_account(request.path_params["agent_id"])
    if account is None:
        return render(request, "forbidden.html", {"me": me, "reason": "admin.no_such_agent"}, 404)
    return account


@page(VIEW_ROLES)
async def agent_edit(request: Request, me: dict[str, str]) -> Response:
    account = await _account_or_404(request, me)
    if isinstance(account, Response):
        return account
    store = services_of(request).store
    ctx = page_context(
        request,
        me,
        agent=account,
        roles=ROLES,
        two_factor=await store.two_factor(account["id"]),
        session_count=len(await store.list_sessions(account["id"])),
    )
    return render(request, "admin_agent.html", ctx)


@page(CHANGE_ROLES)
async def agent_update(request: Request, me: dict[str, str]) -> Response:
    store = services_of(request).store
    account = await _account_or_404(request, me)
    if isinstance(account, Response):
        return account
    form = form_fields(await request.form())
    fields, errors = agent_fields(form, creating=False)
    if account["id"] == me["id"] and fields["role"] != me.get("role"):
        errors.append(Problem("admin.err_own_role"))
    if errors:
        shown = {**account, **{k: v for k, v in fields.items() if k != "password"}}
        ctx = page_context(request, me, agent=shown, roles=ROLES, errors=errors)
        return render(request, "admin_agent.html", ctx, 400)
    password = fields.pop("password", "")
    changed = [k for k, v in fields.items() if account.get(k, "") != v]
    if password:
        fields["password_hash"] = await off_loop(hash_password, password)
    await store.update_account(account["id"], fields)
    if password:
        # A new password signs every device out, and closes their sockets.
        ended = await store.end_sessions(account["id"])
        await close_session_sockets(services_of(request), account, ended)
        detail = f"{account.get('email', '')}: {len(ended)} sessions signed out"
        await record(request, me, account["site"], "password_reset", detail)
    if changed:
        detail = f"{account.get('email', '')}: " + ", ".join(
            f"{k} {account.get(k, '')!r} -> {fields[k]!r}" for k in changed
        )
        await record(request, me, account["site"], "agent_updated", detail)
    await store.account_changed(account["site"], account["id"])
    return back(f"/admin/agents/{account['id']}", "password" if password else "1")


@page(CHANGE_ROLES)
async def agent_two_factor_reset(request: Request, me: dict[str, str]) -> Response:
    """Turn off an agent's two-factor sign-in (a lost phone): their next sign-in asks for the
    password only, and sets it up again where the site requires it."""
    account = await _account_or_404(request, me)
    if isinstance(account, Response):
        return account
    if await services_of(request).store.two_factor_reset(account["id"]):
        await record(request, me, account["site"], "two_factor_reset", account.get("email", ""))
    return back(f"/admin/agents/{account['id']}", "two_factor_reset")


async def _set_active(request: Request, me: dict[str, str], active: bool) -> Response:
    store = services_of(request).store
    account = await _account_or_404(request, me)
    if isinstance(account, Response):
        return account
    if account["id"] == me["id"]:
        ctx = page_context(request, me, agent=account, roles=ROLES)
        ctx["errors"] = [Problem("admin.err_deactivate_self")]
        return render(request, "admin_agent.html", ctx, 400)
    await store.update_account(account["id"], {"active": "1" if active else "0"})
    if not active:
        await store.end_sessions(account["id"])
        await store.disconnect_agent(account["site"], account["id"])
    action = "agent_reactivated" if active else "agent_deactivated"
    await record(request, me, account["site"], action, account.get("email", ""))
    return back(f"/admin/agents/{account['id']}", "activated" if active else "deactivated")


@page(CHANGE_ROLES)
async def agent_deactivate(request: Request, me: dict[str, str]) -> Response:
    return await _set_active(request, me, False)


@page(CHANGE_ROLES)
async def agent_reactivate(request: Request, me: dict[str, str]) -> Response:
    return await _set_active(request, me, True)


# --- sites --------------------------------------------------------------------------------
@page(VIEW_ROLES)
async def sites(request: Request, me: dict[str, str]) -> Response:
    store = services_of(request).store
    rows = [
        {"id": s, **(await store.get_site(s) or {})} for s in await store.list_sites(fresh=True)
    ]
    return render(request, "admin_sites.html", page_context(request, me, sites=rows))


@page(CHANGE_ROLES)
async def site_create(request: Request, me: dict[str, str]) -> Response:
    store = services_of(request).store
    form = form_fields(await request.form())
    site_id = form.get("id", "").strip().lower()
    errors: list[str] = []
    if not valid_site_name(site_id):
        errors.append(Problem("admin.err_site_id"))
    elif site_id in await store.list_sites(fresh=True):
        errors.append(Problem("admin.err_site_exists", site=site_id))
    if errors:
        rows = [
            {"id": s, **(await store.get_site(s) or {})} for s in await store.list_sites(fresh=True)
        ]
        return render(
            request, "admin_sites.html", page_context(request, me, sites=rows, errors=errors), 400
        )
    await store.ensure_site(site_id, form.get("name", "").strip()[:100] or site_id)
    await record(request, me, site_id, "site_created")
    return RedirectResponse(f"/admin/sites/{site_id}?saved=created", status_code=303)


async def _site_page(
    request: Request,
    me: dict[str, str],
    site_id: str,
    values: dict[str, str],
    hours: dict[str, str] | None = None,
    errors: list[str] | None = None,
    typed: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """The site form and the site's API keys; after a refused save, ``hours``, ``typed``
    (the whole form) and ``values`` (or ``key_form``) are what was typed."""
    policy = SitePolicy.from_settings(values)
    stored_dept_hours = values.get("department_hours", "")
    ctx = page_context(
        request,
        me,
        site_id=site_id,
        site=values,
        hours=hours or office_hours_form(values.get("office_hours", "")),
        dept_hours=department_hours_rows(
            parse_departments(values.get("departments")), stored_dept_hours, typed
        ),
        dept_hours_problem="" if typed else department_hours_problem(stored_dept_hours),
        day_labels=DAY_KEYS,
        policy=[
            (name, POLICY_KEYS.get(name, label), values.get(name) or getattr(policy, name))
            for name, label in SitePolicy.labels().items()
        ],
        keys=await services_of(request).store.site_api_keys(site_id),
        identity=await _identity(request, me, site_id),
        scopes=SCOPES,
        key_form=extra.pop("key_form", {"scope": "read"}),
        **extra,
    )
    ctx["errors"] = errors or []
    return render(request, "admin_site.html", ctx, 400 if errors else 200)


@page(VIEW_ROLES)
async def site_edit(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    new_key = await _revealed_key(request, found[0], revealed(request, me))
    response = await _site_page(request, me, *found, new_key=new_key)
    return forget_reveal(request, response, found[0])


@page(CHANGE_ROLES)
async def site_update(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    site_id, settings = found
    form = form_fields(await request.form())
    fields, errors = site_fields(form)
    if errors:
        hours = {"tz": form.get("tz", ""), **{d: form.get(f"hours_{d}", "") for d in DAY_LABELS}}
        return await _site_page(
            request, me, site_id, {**settings, **fields}, hours, errors, typed=dict(form)
        )
    await services_of(request).store.update_site(site_id, fields)
    changed = sorted(k for k, v in fields.items() if settings.get(k, "") != v)
    if changed:
        await record(request, me, site_id, "site_settings", "changed " + ", ".join(changed))
    return back(f"/admin/sites/{site_id}")


# --- identity verification (on the site's page) -------------------------------------------
async def _identity(request: Request, me: dict[str, str], site_id: str) -> dict[str, Any] | None:
    """The site's identity secret, for admins only (made the first time one looks); the
    backend signs visitors' identities with it, so supervisors never see it."""
    if me.get("role") not in CHANGE_ROLES:
        return None
    secret, rotated_at = await services_of(request).store.ensure_identity_secret(
        site_id, now_ms(request)
    )
    return {"secret": secret, "rotated_at": rotated_at, "max_age_h": MAX_AGE_S // 3600}


@page(CHANGE_ROLES)
async def identity_rotate(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    await services_of(request).store.rotate_identity_secret(found[0], now_ms(request))
    await record(request, me, found[0], "identity_secret_rotated")
    return back(f"/admin/sites/{found[0]}", "identity", "#identity")


# --- REST API keys (on the site's page) ---------------------------------------------------
async def _revealed_key(request: Request, site_id: str, token: str) -> dict[str, str] | None:
    """The key just created, if ``token`` is one of this site's active keys."""
    parsed = parse_key(token)
    stored = await services_of(request).store.api_key(parsed[0]) if parsed else None
    if parsed is None or stored is None:
        return None
    key, digest = stored
    if key.site != site_id or not key.active or not key_matches(parsed[1], digest):
        return None
    return {"id": key.id, "name": key.name, "scope": key.scope, "token": token}


@page(CHANGE_ROLES)
async def key_create(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    site_id, settings = found
    name, scope, errors = api_key_fields(form_fields(await request.form()))
    if errors:
        typed = {"name": name, "scope": scope}
        return await _site_page(request, me, site_id, settings, errors=errors, key_form=typed)
    store = services_of(request).store
    key_id, token = await store.issue_api_key(site_id, name, scope, now_ms(request), me["id"])
    await record(request, me, site_id, "api_key_created", f"{key_id} {name!r} ({scope})")
    return reveal(request, site_id, f"/admin/sites/{site_id}?saved=key#api-keys", token)


@page(CHANGE_ROLES)
async def key_revoke(request: Request, me: dict[str, str]) -> Response:
    found = await site_or_404(request, me)
    if isinstance(found, Response):
        return found
    store = services_of(request).store
    stored = await store.api_key(request.path_params["key_id"])
    if stored is None or stored[0].site != found[0]:
        return not_found(request, me, "admin.no_such_key")
    await store.revoke_api_key(stored[0].id, now_ms(request))
    await record(request, me, found[0], "api_key_revoked", f"{stored[0].id} {stored[0].name!r}")
    return back(f"/admin/sites/{found[0]}", "revoked", "#api-keys")


async def admin_home(request: Request) -> Response:
    return RedirectResponse("/admin/agents", status_code=303)


routes = [
    Route("/admin", admin_home, methods=["GET"]),
    Route("/admin/agents", agents, methods=["GET"]),
    Route("/admin/agents", agent_create, methods=["POST"]),
    Route("/admin/agents/{agent_id}", agent_edit, methods=["GET"]),
    Route("/admin/agents/{agent_id}", agent_update, methods=["POST"]),
    Route("/admin/agents/{agent_id}/deactivate", agent_deactivate, methods=["POST"]),
    Route("/admin/agents/{agent_id}/reactivate", agent_reactivate, methods=["POST"]),
    Route("/admin/agents/{agent_id}/two-factor/reset", agent_two_factor_reset, methods=["POST"]),
    Route("/admin/sites", sites, methods=["GET"]),
    Route("/admin/sites", site_create, methods=["POST"]),
    Route("/admin/sites/{site}", site_edit, methods=["GET"]),
    Route("/admin/sites/{site}", site_update, methods=["POST"]),
    Route("/admin/sites/{site}/identity/rotate", identity_rotate, methods=["POST"]),
    Route("/admin/sites/{site}/keys", key_create, methods=["POST"]),
    Route("/admin/sites/{site}/keys/{key_id}/revoke", key_revoke, methods=["POST"]),
    *admin_webhooks.routes,
    *admin_canned.routes,
]
