"""An agent's sessions on a real server: listed on the account page with when, where and
which browser; revoking one (or every other one) closes its sockets as signing out does; an
admin's password reset ends every session and closes every socket."""

from __future__ import annotations

import asyncio
import hashlib
import re

from chatserver.store import Store
from tests import client as cl
from tests.integration.account_support import (
    CSRF,
    audit_entries,
    get,
    post,
    session_of,
)
from tests.integration.security_support import http
from tests.servers import LiveServer


def _login_as(base: str, email: str, browser: str, password: str = "password123") -> str:
    reply = http(
        base,
        "/login",
        {"email": email, "password": password, "csrf_token": "t"},
        cookies=CSRF,
        headers={"User-Agent": browser},
    )
    return session_of(reply)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


async def _closed(sock: cl.Client) -> int | None:
    err = await sock.expect("error")
    assert err["code"] == "unauthorized"
    await asyncio.wait_for(asyncio.shield(sock._reader), 5)
    return sock.closed_code


async def test_sessions_are_listed_and_one_is_revoked(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("s@example.com", name="Sara")
    laptop = await asyncio.to_thread(_login_as, base, "s@example.com", "Firefox on a laptop")
    phone = await asyncio.to_thread(_login_as, base, "s@example.com", "Safari on a phone")
    page = await asyncio.to_thread(get, base, "/account", laptop)
    rows = re.findall(r'data-testid="session" data-session="([0-9a-f]+)"', page.body)
    assert sorted(rows) == sorted([_digest(laptop), _digest(phone)])
    assert "Firefox on a laptop" in page.body and "Safari on a phone" in page.body
    assert "127.0.0.1" in page.body and 'data-testid="this-session"' in page.body

    sock, _ = await cl.agent(live_server.ws_url, phone)
    reply = await asyncio.to_thread(
        post, base, f"/account/sessions/{_digest(phone)}/revoke", {}, laptop
    )
    assert reply.status == 303
    assert await _closed(sock) == 4401
    assert (await asyncio.to_thread(http, base, "/api/console/team", token=phone)).status == 401
    assert (await asyncio.to_thread(http, base, "/api/console/team", token=laptop)).status == 200
    page = await asyncio.to_thread(get, base, "/account", laptop)
    assert re.findall(r'data-session="([0-9a-f]+)"', page.body) == [_digest(laptop)]
    revoked = audit_entries(live_server, action="session_revoked")
    assert revoked and revoked[0].actor_name == "Sara"
    # Another agent's session is not one of yours to revoke.
    live_server.add_agent("other@example.com")
    other = await asyncio.to_thread(_login_as, base, "other@example.com", "x")
    refused = await asyncio.to_thread(
        post, base, f"/account/sessions/{_digest(laptop)}/revoke", {}, other
    )
    assert refused.status == 404
    assert (await asyncio.to_thread(http, base, "/api/console/team", token=laptop)).status == 200


async def test_sign_out_everywhere_else(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("e@example.com")
    here = await asyncio.to_thread(_login_as, base, "e@example.com", "here")
    there = [await asyncio.to_thread(_login_as, base, "e@example.com", f"b{i}") for i in range(2)]
    socks = [(await cl.agent(live_server.ws_url, t))[0] for t in there]
    mine, _ = await cl.agent(live_server.ws_url, here)
    reply = await asyncio.to_thread(post, base, "/account/sessions/others/revoke", {}, here)
    assert reply.status == 303
    for sock in socks:
        assert await _closed(sock) == 4401
    # This session and its socket go on.
    await mine.send({"type": "ping"})
    await mine.expect("pong")
    assert mine.closed_code is None
    page = await asyncio.to_thread(get, base, "/account", here)
    assert re.findall(r'data-session="([0-9a-f]+)"', page.body) == [_digest(here)]
    await mine.close()


async def test_an_admins_password_reset_ends_every_session(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("root@example.com", role="admin", name="Root")
    agent_id = live_server.add_agent("p@example.com", name="Pat", capacity=2)
    token = await asyncio.to_thread(_login_as, base, "p@example.com", "browser")
    sock, _ = await cl.agent(live_server.ws_url, token)
    root = await asyncio.to_thread(_login_as, base, "root@example.com", "admin's browser")
    form = {"name": "Pat", "role": "agent", "capacity": "2", "departments": ""}
    reply = await asyncio.to_thread(
        post, base, f"/admin/agents/{agent_id}", {**form, "password": "a-new-password-1"}, root
    )
    assert reply.status == 303 and "saved=password" in reply.headers["location"]
    assert await _closed(sock) == 4401
    assert (await asyncio.to_thread(http, base, "/api/console/team", token=token)).status == 401
    await asyncio.to_thread(_login_as, base, "p@example.com", "again", "a-new-password-1")
    reset = audit_entries(live_server, action="password_reset")
    assert reset and reset[0].actor_name == "Root" and "p@example.com" in reset[0].detail


async def _dashboard(live: LiveServer, token: str) -> cl.Client:
    sock = await cl.Client.connect(
        f"{live.ws_url}/ws/dashboard", "json", headers={"Authorization": f"Bearer {token}"}
    )
    await sock.send({"type": "watch"})
    await sock.expect("dashboard")
    return sock


async def test_a_revoked_session_closes_its_dashboard_too(live_server: LiveServer) -> None:
    """The dashboard socket is a supervisor's view of every chat: it ends with its session,
    and a supervisor demoted to agent loses it at once; another session's stays."""
    base = live_server.base_url
    live_server.add_agent("boss@example.com", name="Boss", role="supervisor")
    desk = await asyncio.to_thread(_login_as, base, "boss@example.com", "desk")
    wall = await asyncio.to_thread(_login_as, base, "boss@example.com", "wall screen")
    on_wall, on_desk = await _dashboard(live_server, wall), await _dashboard(live_server, desk)
    reply = await asyncio.to_thread(
        post, base, f"/account/sessions/{_digest(wall)}/revoke", {}, desk
    )
    assert reply.status == 303
    assert await _closed(on_wall) == 4401
    await on_desk.send({"type": "ping"})
    await on_desk.expect("pong")
    assert on_desk.closed_code is None
    # Demoted to agent: the other dashboard closes too; a change that keeps the role does not.
    store = Store.from_url(live_server.redis_url)
    try:
        boss = await store.account_id_by_email("boss@example.com")
        assert boss is not None
        await store.update_account(boss, {"capacity": "4"})
        await store.account_changed("demo", boss)
        # The push that follows the event (a second later) is the marker that it was heard.
        await on_desk.expect("dashboard")
        assert on_desk.closed_code is None
        await store.update_account(boss, {"role": "agent"})
        await store.account_changed("demo", boss)
        assert await _closed(on_desk) == 4401
    finally:
        await store.close()
