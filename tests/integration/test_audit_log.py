"""The audit log on a real server: what admins change in the admin pages, sign-ins (and
failed ones, with unknown e-mails in their own capped log), API key use (once a minute, not
per request) each appear with who, what and when; the admin page filters and pages them, the
CSV export and the REST API take the same filters, and Persian text comes through intact."""

from __future__ import annotations

import csv
import io
import re
import time
import urllib.parse
from datetime import UTC, datetime, timedelta

from chatserver.core.audit import AuditEntry
from chatserver.core.policy import SitePolicy
from chatserver.store import Store
from tests import client as cl
from tests.integration.account_support import (
    audit_entries,
    form_login,
    get,
    post,
    session_of,
    store_call,
)
from tests.servers import LiveServer

PERSIAN = "مینا رضایی"


def _admin_changes(live: LiveServer, root: str) -> dict[str, str]:
    """Make one change of every kind the admin pages audit; returns ids made on the way."""
    base = live.base_url

    def ok(path: str, form: dict[str, str]) -> str:
        reply = post(base, path, form, root)
        assert reply.status == 303, (path, reply.status, reply.body[:400])
        return reply.headers["location"]

    ok(
        "/admin/agents",
        {
            "email": "new@example.com",
            "name": "New",
            "role": "agent",
            "capacity": "2",
            "departments": "",
            "password": "password-1234",
            "site": "demo",
        },
    )
    new_id: str = store_call(live, lambda s: s.account_id_by_email("new@example.com"))
    agent_form = {"name": PERSIAN, "role": "agent", "capacity": "2", "departments": ""}
    ok(f"/admin/agents/{new_id}", agent_form)
    ok(f"/admin/agents/{new_id}/deactivate", {})
    ok(f"/admin/agents/{new_id}/reactivate", {})
    ok("/admin/sites", {"id": "shop", "name": "Shop"})
    site_form = {
        "name": "Demo",
        "allowed_origins": "*",
        "greeting": "سلام! چطور کمکتان کنیم؟",
        "require_two_factor": "",
        **{name: str(getattr(SitePolicy(), name)) for name in SitePolicy.labels()},
    }
    ok("/admin/sites/demo", site_form)
    ok("/admin/sites/demo/canned", {"shortcut": "hi", "text": "سلام"})
    ok("/admin/sites/demo/canned/delete", {"shortcut": "hi"})
    ok("/admin/sites/demo/identity/rotate", {})
    ok("/admin/sites/demo/webhooks", {"url": "https://crm.example.com/hook", "description": ""})
    hooks = store_call(live, lambda s: s.webhooks("demo"))
    ok(f"/admin/sites/demo/webhooks/{hooks[0].id}/delete", {})
    reply = post(base, "/admin/sites/demo/keys", {"name": "CRM", "scope": "admin"}, root)
    assert reply.status == 303
    key_token = reply.cookies["cs_reveal"]
    keys = store_call(live, lambda s: s.site_api_keys("demo"))
    return {"new_agent": new_id, "key_id": keys[0].id, "key_token": key_token}


def test_every_kind_with_who_what_when_and_the_filters(live_server: LiveServer) -> None:
    base = live_server.base_url
    root_id = live_server.add_agent("root@example.com", role="admin", name="Root")
    started = int(time.time() * 1000)
    assert form_login(base, "root@example.com", "wrong-password").status == 401
    assert form_login(base, "nobody@example.com", "whatever").status == 401
    root = session_of(form_login(base, "root@example.com"))
    made = _admin_changes(live_server, root)

    # API key use: two requests in a minute make one entry.
    for _ in range(2):
        cl.rest(base, made["key_token"], "GET", "/api/v1/agents")
    post(base, f"/admin/sites/demo/keys/{made['key_id']}/revoke", {}, root)

    entries = audit_entries(live_server)
    by_action: dict[str, list[AuditEntry]] = {}
    for e in entries:
        by_action.setdefault(e.action, []).append(e)
    expected = {
        "sign_in_failed",
        "sign_in",
        "agent_created",
        "agent_updated",
        "agent_deactivated",
        "agent_reactivated",
        "site_settings",
        "canned_saved",
        "canned_deleted",
        "identity_secret_rotated",
        "webhook_created",
        "webhook_removed",
        "api_key_created",
        "api_key_used",
        "api_key_revoked",
    }
    assert expected <= set(by_action), expected - set(by_action)
    assert len(by_action["api_key_used"]) == 1
    used = by_action["api_key_used"][0]
    assert used.actor_id == f"key:{made['key_id']}" and used.actor_name == "CRM"
    assert "GET /api/v1/agents" in used.detail
    for e in entries:
        if e.action == "api_key_used" or e.action == "sign_in_failed":
            continue
        assert e.actor_id == root_id and e.actor_name == "Root", e
        assert started - 1000 <= e.ts <= int(time.time() * 1000) + 1000
        assert "127.0.0.1" in e.detail, e
    updated = by_action["agent_updated"][0]
    assert PERSIAN in updated.detail
    changed = by_action["site_settings"][0]
    assert "greeting" in changed.detail
    failed = by_action["sign_in_failed"][0]
    assert failed.actor_id == root_id and "wrong password" in failed.detail
    assert [e.action for e in audit_entries(live_server, "shop")] == ["site_created"]
    # The unknown e-mail went to the installation's log of unknown accounts, not a site's.
    unknown = audit_entries(live_server, None)
    assert [(e.action, e.actor_name) for e in unknown] == [("sign_in_failed", "nobody@example.com")]

    # --- the admin page: filters, Persian, pages ------------------------------------------
    page = get(base, "/admin/sites/demo/audit?action=canned_saved", root)
    assert page.status == 200
    assert re.findall(r'data-action="([a-z_]+)"', page.body) == ["canned_saved"]
    page = get(base, "/admin/sites/demo/audit?" + urllib.parse.urlencode({"q": PERSIAN}), root)
    assert re.findall(r'data-action="([a-z_]+)"', page.body) == ["agent_updated"]
    assert PERSIAN in page.body and 'dir="auto"' in page.body
    page = get(base, f"/admin/sites/demo/audit?actor={root_id}&action=sign_in", root)
    assert re.findall(r'data-action="([a-z_]+)"', page.body) == ["sign_in"]
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    page = get(base, f"/admin/sites/demo/audit?until={yesterday}", root)
    assert 'data-testid="audit-empty"' in page.body
    page = get(base, f"/admin/sites/demo/audit?since={today}&until={today}", root)
    assert len(re.findall(r'data-testid="audit-entry"', page.body)) == len(entries)
    assert get(base, "/admin/sites/demo/audit?since=12/01/2026", root).status == 400
    unknown_page = get(base, "/admin/audit/sign-ins", root)
    assert "nobody@example.com" in unknown_page.body

    # --- CSV: the same filters; formulas defused; UTF-8 with a BOM -------------------------
    reply = get(base, "/admin/sites/demo/audit.csv?action=agent_updated", root)
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in reply.headers["Content-Disposition"]
    assert reply.body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(reply.body.lstrip("\ufeff"))))
    assert rows[0][:6] == ["id", "time_utc", "ts_ms", "actor_id", "actor_name", "action"]
    assert [r[5] for r in rows[1:]] == ["agent_updated"]
    assert PERSIAN in rows[1][7]

    # --- the REST API takes the filters too -----------------------------------------------
    fresh = _new_key(live_server)  # the first key was revoked above
    listed = cl.rest(base, fresh, "GET", "/api/v1/audit?action=canned_saved&limit=10")
    assert [i["action"] for i in listed["items"]] == ["canned_saved"]
    assert listed["items"][0]["actor"] == {"id": root_id, "name": "Root"}
    searched = cl.rest(base, fresh, "GET", "/api/v1/audit?" + urllib.parse.urlencode({"q": "CRM"}))
    assert {i["action"] for i in searched["items"]} >= {"api_key_created", "api_key_used"}


def _new_key(live: LiveServer) -> str:
    async def make(store: Store) -> str:
        _, token = await store.issue_api_key(
            "demo", "Reader", "admin", int(time.time() * 1000), "t"
        )
        return token

    token: str = store_call(live, make)
    return token


def test_pages_newest_first_and_the_unknown_log_is_capped(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("root@example.com", role="admin", name="Root")
    root = session_of(form_login(base, "root@example.com"))

    async def fill(store: Store) -> None:
        now = int(time.time() * 1000)
        for i in range(120):
            await store.audit("demo", "canned_saved", "a_x", "X", now + i, f"entry {i:03d}")
        for i in range(50):
            await store.audit(None, "sign_in_failed", "", f"g{i}@example.com", now, "guess")

    store_call(live_server, fill)
    first = get(base, "/admin/sites/demo/audit?action=canned_saved", root)
    details = re.findall(r"entry (\d{3})", first.body)
    assert details == [f"{i:03d}" for i in range(119, 69, -1)]
    older = re.search(r'href="([^"]+before=[^"]+)"', first.body)
    assert older
    second = get(base, older.group(1).replace("&amp;", "&"), root)
    assert re.findall(r"entry (\d{3})", second.body) == [f"{i:03d}" for i in range(69, 19, -1)]

    from chatserver.store.audit import ACCOUNT_AUDIT_LENGTH

    assert ACCOUNT_AUDIT_LENGTH <= 10_000

    async def length(store: Store) -> int:
        n: int = await store.r.xlen(store.k.audit_accounts())
        return n

    assert store_call(live_server, length) == 50
