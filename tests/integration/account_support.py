"""Helpers for the sign-in security tests: form sign-in in one or two steps, setting up
two-factor through the account page, reading the audit log from the store."""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from typing import Any

import pyotp

from chatserver.core.audit import AuditEntry, AuditQuery
from chatserver.store import Store
from tests.integration.security_support import Reply, http
from tests.servers import LiveServer, run_async

CSRF = {"cs_csrf": "t"}  # the double-submit check wants the same value in cookie and field


def post(base: str, path: str, form: dict[str, str], token: str | None = None) -> Reply:
    return http(base, path, {**form, "csrf_token": "t"}, token=token, cookies=CSRF)


def get(base: str, path: str, token: str) -> Reply:
    """A page as the browser asks for it: with the session cookie."""
    return http(base, path, cookies={"cs_session": token})


def form_login(base: str, email: str, password: str = "password123") -> Reply:
    return post(base, "/login", {"email": email, "password": password})


def pending_of(reply: Reply) -> str:
    m = re.search(r'name="pending" value="([^"]+)"', reply.body)
    assert m, reply.body[:500]
    return m.group(1)


def code_login(base: str, pending: str, code: str) -> Reply:
    return post(base, "/login/code", {"pending": pending, "code": code})


def session_of(reply: Reply) -> str:
    assert reply.status == 303, (reply.status, reply.body[:300])
    return reply.cookies["cs_session"]


@dataclass
class TwoFactor:
    secret: str
    step: int  # the step of the code that confirmed the setup (spent)
    recovery: list[str]

    @property
    def totp(self) -> pyotp.TOTP:
        return pyotp.TOTP(self.secret)

    def code(self, step: int) -> str:
        return self.totp.at(step * 30)


def enable_two_factor(base: str, token: str) -> TwoFactor:
    """Set up two-factor on the account page, as an agent would, with a code from pyotp."""
    page = post(base, "/account/two-factor/setup", {}, token)
    assert page.status == 200, page.body[:300]
    m = re.search(r'data-testid="two-factor-secret"[^>]*>([A-Z2-7 ]+)<', page.body)
    assert m, page.body[:800]
    assert "<svg" in page.body  # the QR code, drawn on the server
    secret = m.group(1).replace(" ", "")
    step = int(time.time() // 30)
    done = post(
        base, "/account/two-factor/confirm", {"code": pyotp.TOTP(secret).at(step * 30)}, token
    )
    assert done.status == 200, done.body[:500]
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.body)
    assert len(codes) == 10, done.body[:800]
    return TwoFactor(secret, step, codes)


def json_login(base: str, body: dict[str, Any]) -> Reply:
    import json

    return http(base, "/api/login", json_body=json.dumps(body).encode())


def store_call(live: LiveServer, fn: Any) -> Any:
    async def run() -> Any:
        store = Store.from_url(live.redis_url)
        try:
            return await fn(store)
        finally:
            await store.close()

    return run_async(run())


def audit_entries(live: LiveServer, site: str | None = "demo", **query: Any) -> list[AuditEntry]:
    async def read(store: Store) -> list[AuditEntry]:
        entries, _ = await store.audit_search(site, AuditQuery(**query), None, 1000)
        return entries

    result: list[AuditEntry] = store_call(live, read)
    return result


def text_of(body: str) -> str:
    return html.unescape(body)


def four_roles(live: LiveServer) -> tuple[str, str, str, str]:
    """Sessions of an admin, the site's supervisor, another site's supervisor and an agent
    (root, sue, far, ann): who may keep a site's shared content, and who may not."""
    live.add_agent("root@example.com", name="Root", role="admin")
    live.add_agent("sue@example.com", name="Sue", role="supervisor")
    live.add_agent("far@example.com", name="Far", role="supervisor", site="other")
    live.add_agent("ann@example.com", name="Ann")
    root, sue, far, ann = (
        live.login(f"{who}@example.com") for who in ("root", "sue", "far", "ann")
    )
    return root, sue, far, ann
