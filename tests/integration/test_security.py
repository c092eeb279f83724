"""Each security boundary, tried from the outside against a real server (docs/security.md
lists which test proves what). Boundaries tested elsewhere: an agent of another site
(test_console_actions.py), a visitor Origin not allowed (test_bad_input.py), roles in the
browser (tests/browser/test_console_admin.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from chatserver.auth import visitor_token
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.store import Store
from tests import client as cl
from tests.integration.security_support import Reply, csrf, http
from tests.servers import SECRET, LiveServer, run_async

ADMIN_POSTS = {
    "/admin/agents": {
        "email": "new@example.com",
        "name": "New",
        "password": "long-enough-password",
        "role": "admin",
        "capacity": "3",
        "site": "demo",
    },
    "/admin/agents/{victim}": {"name": "Renamed", "role": "admin", "capacity": "9"},
    "/admin/agents/{victim}/deactivate": {},
    "/admin/agents/{victim}/reactivate": {},
    "/admin/sites": {"id": "newsite", "name": "New site"},
    "/admin/sites/demo": {"name": "Hijacked", "allowed_origins": "*"},
    "/admin/sites/demo/canned": {"shortcut": "evil", "text": "Send me your password"},
    "/admin/sites/demo/canned/delete": {"shortcut": "hello"},
    "/admin/sites/demo/keys": {"name": "Stolen", "scope": "admin"},
    "/admin/sites/demo/keys/{key}/revoke": {},
    "/admin/sites/demo/webhooks": {"url": "https://evil.example/hook"},
    "/admin/sites/demo/webhooks/{hook}/delete": {},
    "/admin/sites/demo/webhooks/{hook}/replay": {"since": "2020-01-01T00:00"},
    "/admin/sites/demo/webhooks/{hook}/replay-dead": {},
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(secret: str, payload: str) -> str:
    sig = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:24]
    return f"{payload}.{_b64(sig)}"


async def _victim(live: LiveServer) -> tuple[cl.Client, dict[str, object], str]:
    """A visitor with an open conversation holding a secret."""
    v, welcome = await cl.visitor(live.ws_url)
    await v.send({"type": "message", "client_id": "s1", "text": "my card is 4111 1111"})
    conv_id = (await v.expect("ack"))["conversation_id"]
    return v, welcome, conv_id


async def test_forged_expired_and_foreign_tokens_start_a_new_visitor(
    live_server: LiveServer,
) -> None:
    v, welcome, conv_id = await _victim(live_server)
    victim_id = str(welcome["visitor_id"])
    token = str(welcome["token"])
    expiry = token.split(".")[3]
    now = int(asyncio.get_running_loop().time())  # only for an obviously old expiry below
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature changed
        token.replace(expiry, str(int(expiry) + 10**6)),  # expiry extended, old signature
        _signed("not-the-server-secret-" + "y" * 30, ".".join(token.split(".")[:4])),
        _signed(SECRET, f"v1.{_b64(b'demo')}.{victim_id}.{now % 1000}"),  # expired (1970)
        visitor_token(SECRET, "other", victim_id, 0, 10**10),  # genuine, but another site
        token + "é",  # non-ASCII: refused, never an exception
        "v1..." + "x" * 900,
    ]
    for bad in forged:
        intruder, w = await cl.visitor(live_server.ws_url, token=bad)
        assert w["visitor_id"] != victim_id, bad
        assert w["conversation"] is None
        err = await _error(intruder, {"type": "sync", "conversation_id": conv_id})
        assert err["code"] == "forbidden"
        await asyncio.sleep(0.05)
        assert not any("4111" in json.dumps(f) for f in intruder.frames)
        await intruder.close()
    # The genuine token still opens the victim's own conversation (and gets a fresh token).
    again, w = await cl.visitor(live_server.ws_url, token=token)
    assert w["visitor_id"] == victim_id and w["conversation"]["id"] == conv_id
    for c in (v, again):
        await c.close()
    assert live_server.nodes[0].crashes() == []


async def _error(c: cl.Client, frame: dict[str, object]) -> dict[str, object]:
    await c.send(frame)
    return await c.expect("error")


async def test_a_visitor_reaches_only_its_own_conversation(live_server: LiveServer) -> None:
    v, _, conv_id = await _victim(live_server)
    await v.send({"type": "resolve"})
    await v.expect("resolved")
    intruder, _ = await cl.visitor(live_server.ws_url)
    for frame in (
        {"type": "sync", "conversation_id": conv_id},
        {"type": "sync", "conversation_id": conv_id, "after": "0-0"},
        {"type": "read", "conversation_id": conv_id, "id": "1-0"},
        {"type": "rate", "conversation_id": conv_id, "score": 1, "comment": "spam"},
    ):
        assert (await _error(intruder, frame))["code"] in ("forbidden", "not_found"), frame
    # Writing never lands in someone else's chat: the intruder's message opens its own.
    await intruder.send({"type": "message", "client_id": "x1", "text": "hi"})
    assert (await intruder.expect("ack"))["conversation_id"] != conv_id
    await asyncio.sleep(0.1)
    assert not any("4111" in json.dumps(f) for f in intruder.frames)
    for c in (v, intruder):
        await c.close()


def test_tokens_signed_with_the_previous_key_verify_during_a_rotation(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    new_key = "rotated-secret-" + "z" * 40
    live = LiveServer(redis_server, tmp_path / "server")
    old_node = live.start_node()
    rotated = live.start_node(
        {"CHATSERVER_SECRET_KEY": new_key, "CHATSERVER_SECRET_KEY_OLD": SECRET}
    )
    retired = live.start_node({"CHATSERVER_SECRET_KEY": new_key})

    async def scenario() -> None:
        v, w = await cl.visitor(old_node.ws_url)
        await v.close()
        # The rotated node knows the old key: same visitor, and a token under the new key.
        v2, w2 = await cl.visitor(rotated.ws_url, token=str(w["token"]))
        assert w2["visitor_id"] == w["visitor_id"]
        await v2.close()
        # Once the old key is dropped, old tokens no longer verify; new ones do.
        v3, w3 = await cl.visitor(retired.ws_url, token=str(w["token"]))
        assert w3["visitor_id"] != w["visitor_id"]
        v4, w4 = await cl.visitor(retired.ws_url, token=str(w2["token"]))
        assert w4["visitor_id"] == w["visitor_id"]
        for c in (v3, v4):
            await c.close()

    try:
        run_async(scenario())
    finally:
        live.stop()


def _admin_posts(victim: str, key: str, hook: str) -> dict[str, dict[str, str]]:
    return {
        path.format(victim=victim, key=key, hook=hook): form for path, form in ADMIN_POSTS.items()
    }


def _integrations(live: LiveServer) -> tuple[str, str]:
    """An API key and a webhook endpoint of the demo site, for the forms that change them
    (the endpoint points nowhere: nothing in these tests makes an event)."""

    async def make(store: Store) -> tuple[str, str]:
        key_id, _ = await store.issue_api_key("demo", "CRM", "read", 1, "test")
        await store.add_webhook("demo", "wh_victim", "http://127.0.0.1:9/", "whsec_x", [], 1)
        return key_id, "wh_victim"

    return _store_call(live, make)  # type: ignore[return-value]


def _integrations_state(live: LiveServer) -> object:
    async def state(store: Store) -> object:
        return (
            await store.site_api_keys("demo"),
            await store.webhooks("demo"),
            await store.dead_letters("demo", "wh_victim"),
        )

    return _store_call(live, state)


def _store_call(live: LiveServer, fn: object) -> object:
    async def run() -> object:
        store = Store.from_url(live.redis_url)
        try:
            return await fn(store)  # type: ignore[operator]
        finally:
            await store.close()

    return run_async(run())


def test_a_supervisor_cannot_do_admin_actions(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("boss@example.com", role="supervisor", name="Boss")
    victim = live_server.add_agent("victim@example.com", name="Victim")
    token = live_server.login("boss@example.com")
    cookie = csrf(base, token, "/admin/agents")
    key, hook = _integrations(live_server)
    before = _store_call(live_server, lambda s: s.get_account(victim))
    site_before = _store_call(live_server, lambda s: s.get_site("demo"))
    integrations_before = _integrations_state(live_server)
    assert http(base, "/admin/agents", token=token).status == 200  # supervisors may look
    for path, form in _admin_posts(victim, key, hook).items():
        if "/canned" in path:
            continue  # the site's own supervisors manage its shared canned responses
        reply = http(
            base, path, {**form, "csrf_token": cookie["cs_csrf"]}, token=token, cookies=cookie
        )
        assert reply.status == 403, (path, reply.status)
    assert _store_call(live_server, lambda s: s.get_account(victim)) == before
    assert _store_call(live_server, lambda s: s.get_site("demo")) == site_before
    assert _store_call(live_server, lambda s: s.account_id_by_email("new@example.com")) is None
    assert _integrations_state(live_server) == integrations_before
    # An agent gets 403 even for looking.
    live_server.add_agent("plain@example.com")
    assert http(base, "/admin/agents", token=live_server.login("plain@example.com")).status == 403


def test_csrf_is_required_on_every_form(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("root@example.com", role="admin", name="Root")
    victim = live_server.add_agent("victim@example.com", name="Victim")
    token = live_server.login("root@example.com")
    cookie = csrf(base, token, "/admin/agents")
    key, hook = _integrations(live_server)
    before = _store_call(live_server, lambda s: s.get_account(victim))
    integrations_before = _integrations_state(live_server)
    for path, form in _admin_posts(victim, key, hook).items():
        for cookies, field in (
            ({}, None),  # neither
            (cookie, None),  # cookie but no field
            ({}, cookie["cs_csrf"]),  # field but no cookie
            (cookie, "x" + cookie["cs_csrf"]),  # mismatch
        ):
            data = dict(form) if field is None else {**form, "csrf_token": field}
            reply = http(base, path, data, token=token, cookies=cookies)
            assert reply.status == 403, (path, cookies, field, reply.status)
        # A cross-site Origin is refused even with a matching token.
        reply = http(
            base,
            path,
            {**form, "csrf_token": cookie["cs_csrf"]},
            token=token,
            cookies=cookie,
            headers={"Origin": "https://evil.example"},
        )
        assert reply.status == 403, path
    assert _store_call(live_server, lambda s: s.get_account(victim)) == before
    assert _integrations_state(live_server) == integrations_before
    # The same change with the token goes through (the checks above refused only for CSRF).
    path = f"/admin/agents/{victim}"
    ok = http(
        base,
        path,
        {"name": "Renamed", "role": "agent", "capacity": "2", "csrf_token": cookie["cs_csrf"]},
        token=token,
        cookies=cookie,
        headers={"Origin": base},
    )
    assert ok.status == 303
    # Sign-in and sign-out need the token too.
    live_server.add_agent("who@example.com")
    login = http(base, "/login", {"email": "who@example.com", "password": "password123"})
    assert login.status == 400 and "cs_session" not in login.cookies
    session = http(
        base,
        "/login",
        {"email": "who@example.com", "password": "password123", "csrf_token": "a"},
        cookies={"cs_csrf": "a"},
    ).cookies["cs_session"]
    http(base, "/logout", {}, cookies={"cs_session": session})  # no token: still signed in
    assert http(base, "/agent", cookies={"cs_session": session}).status == 200


def test_console_headers_and_cookies(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("hdr@example.com", role="admin")
    page = http(base, "/login")
    for reply in (page, http(base, "/admin", token=live_server.login("hdr@example.com"))):
        csp = reply.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
    csrf_cookie = next(c for c in page.set_cookie_lines() if c.startswith("cs_csrf="))
    assert all(a in csrf_cookie for a in ("HttpOnly", "Secure", "SameSite=strict"))
    login = http(
        base,
        "/login",
        {"email": "hdr@example.com", "password": "password123", "csrf_token": "t"},
        cookies={"cs_csrf": "t"},
    )
    assert login.status == 303
    session_cookie = next(c for c in login.set_cookie_lines() if c.startswith("cs_session="))
    assert all(a in session_cookie for a in ("HttpOnly", "Secure", "SameSite=lax"))
    # The widget's frame keeps its own policy (framed by the site's origins; the demo site
    # allows any), and the console's is not forced on it.
    frame = http(base, "/widget/frame?site=demo")
    assert "frame-ancestors *" in frame.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in frame.headers


async def test_a_deactivated_agents_open_socket_is_closed(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("root@example.com", role="admin", name="Root")
    agent_id = live_server.add_agent("leaving@example.com", name="Leaving")
    agent_token = live_server.login("leaving@example.com")
    sock, _ = await cl.agent(live_server.ws_url, agent_token)
    admin = live_server.login("root@example.com")
    cookie = csrf(base, admin, "/admin/agents")
    reply: Reply = await asyncio.to_thread(
        http,
        base,
        f"/admin/agents/{agent_id}/deactivate",
        {"csrf_token": cookie["cs_csrf"]},
        token=admin,
        cookies=cookie,
    )
    assert reply.status == 303
    err = await sock.expect("error")
    assert err["code"] == "unauthorized"
    for _ in range(50):
        if sock.closed_code is not None:
            break
        await asyncio.sleep(0.05)
    assert sock.closed_code == 4401
    # The session is gone everywhere: the API and a new socket refuse it.
    assert http(base, "/api/console/team", token=agent_token).status == 401
    again = await cl.Client.connect(
        f"{live_server.ws_url}/ws/agent", headers={"Authorization": f"Bearer {agent_token}"}
    )
    assert (await again.expect("error"))["code"] == "unauthorized"


async def test_the_session_cookie_opens_agent_sockets_only_from_the_console(
    live_server: LiveServer,
) -> None:
    """Cross-site WebSocket hijacking: a page elsewhere cannot use the agent's cookie."""
    live_server.add_agent("cookie@example.com")
    session = http(
        live_server.base_url,
        "/login",
        {"email": "cookie@example.com", "password": "password123", "csrf_token": "t"},
        cookies={"cs_csrf": "t"},
    ).cookies["cs_session"]
    url = f"{live_server.ws_url}/ws/agent"
    headers = {"Cookie": f"cs_session={session}"}
    evil = await cl.Client.connect(url, headers=headers, origin="https://evil.example")
    assert (await evil.expect("error"))["code"] == "unauthorized"
    own = await cl.Client.connect(url, headers=headers, origin=live_server.base_url)
    await own.send({"type": "hello"})
    assert (await own.expect("welcome"))["agent"]["email"] == "cookie@example.com"
    await own.close()


async def test_logs_hold_no_passwords_tokens_or_secret(live_server: LiveServer) -> None:
    password = "Sup3r-secret-passw0rd!"
    live_server.add_agent("logs@example.com", password=password)
    base = live_server.base_url
    wrong = http(
        base,
        "/login",
        {"email": "logs@example.com", "password": password + "x", "csrf_token": "t"},
        cookies={"cs_csrf": "t"},
    )
    assert wrong.status == 401
    session = http(
        base,
        "/login",
        {"email": "logs@example.com", "password": password, "csrf_token": "t"},
        cookies={"cs_csrf": "t"},
    ).cookies["cs_session"]
    api_token = live_server.login("logs@example.com", password)
    agent = await cl.Client.connect(f"{live_server.ws_url}/ws/agent?token={api_token}")
    await agent.send({"type": "hello"})
    await agent.expect("welcome")
    v, w = await cl.visitor(live_server.ws_url)
    await v.send({"type": "message", "client_id": "m1", "text": "hello"})
    await v.expect("ack")
    await agent.expect("assigned")
    v2, _ = await cl.visitor(live_server.ws_url, token=str(w["token"]))
    bad, _ = await cl.visitor(live_server.ws_url, token=str(w["token"]) + "x")
    for c in (agent, v, v2, bad):
        await c.close()
    live_server.stop()  # the log is complete once the process has stopped
    log = live_server.nodes[0].log_text()
    assert "hub_started" in log  # the log is the server's
    for secret in (password, session, api_token, str(w["token"]), SECRET):
        assert secret not in log
    assert live_server.nodes[0].crashes() == []


@pytest.mark.parametrize("path", ["/readyz", "/admin/agents/a_nope", "/no/such/page"])
def test_errors_show_no_internals(live_server: LiveServer, path: str) -> None:
    live_server.add_agent("err@example.com", role="admin")
    reply = http(live_server.base_url, path, token=live_server.login("err@example.com"))
    for word in ("Traceback", "redis://", 'File "', "chatserver.", "Exception"):
        assert word not in reply.body, (path, word)
