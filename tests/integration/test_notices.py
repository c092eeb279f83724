"""A site's notice on a real Redis and real servers: a supervisor posts it on node A and a
visitor's socket on node B gets it live; a welcome and the widget config carry it; taking it
down reaches the sockets; an expired notice is never served; bad input and the wrong roles
are refused with their documented errors; each change is in the audit log."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from chatserver.store import Store
from tests import client as cl
from tests.integration.account_support import audit_entries
from tests.servers import LiveServer, run_async


def call(base: str, method: str, token: str, body: Any = None) -> tuple[int, Any]:
    req = urllib.request.Request(
        base + "/api/console/notice",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def widget_config(base: str) -> Any:
    with urllib.request.urlopen(base + "/api/widget/config?site=demo", timeout=10) as resp:
        return json.loads(resp.read())


async def test_a_notice_reaches_every_node_live_and_on_open(live_server: LiveServer) -> None:
    node_b = live_server.start_node()
    live_server.add_agent("boss@example.com", name="Mina", role="supervisor")
    token = live_server.login("boss@example.com")
    visitor, welcome = await cl.visitor(node_b.ws_url)
    assert welcome["notice"] is None
    assert call(live_server.base_url, "GET", token) == (200, {"notice": None})
    try:
        text = {"en": "Payments are delayed; we are on it.", "fa": "پرداخت‌ها با تأخیر است."}
        status, body = call(live_server.base_url, "PUT", token, {"text": text, "expires_in": 3600})
        assert status == 200, body
        posted = body["notice"]
        assert posted["text"] == text and posted["by"] == "Mina"
        frame = await visitor.expect("notice")
        public = {k: posted[k] for k in ("id", "text", "expires_at")}
        assert frame["notice"] == public
        # A visitor who comes now gets it in the welcome, one who has not written in the
        # widget's config; the dashboard reads it back.
        later, welcome = await cl.visitor(live_server.ws_url)
        assert welcome["notice"] == public
        assert widget_config(node_b.base_url)["notice"] == public
        assert call(node_b.base_url, "GET", token)[1]["notice"] == posted
        # Posting again replaces it (a new id), live.
        status, body = call(
            node_b.base_url, "PUT", token, {"text": {"en": "Fixed soon"}, "expires_in": 600}
        )
        assert status == 200
        replaced = await visitor.expect("notice")
        assert replaced["notice"]["text"] == {"en": "Fixed soon"}
        assert replaced["notice"]["id"] != posted["id"]
        # Taken down: every socket is told, nothing is served any more.
        assert call(live_server.base_url, "DELETE", token) == (200, {"ended": True})
        assert (await visitor.expect("notice"))["notice"] is None
        await later.expect("notice", lambda f: f["notice"] is None)
        assert widget_config(live_server.base_url)["notice"] is None
        assert call(live_server.base_url, "DELETE", token) == (200, {"ended": False})
        actions = [e.action for e in audit_entries(live_server)]
        assert actions.count("notice_posted") == 2 and actions.count("notice_ended") == 1
        await later.close()
    finally:
        await visitor.close()


async def test_an_expired_notice_is_not_served(live_server: LiveServer) -> None:
    live_server.add_agent("boss@example.com", role="supervisor")
    token = live_server.login("boss@example.com")
    soon = int(time.time() * 1000) + 61_000
    status, body = call(
        live_server.base_url, "PUT", token, {"text": {"en": "Short"}, "expires_at": soon}
    )
    assert status == 200, body
    assert widget_config(live_server.base_url)["notice"]["text"] == {"en": "Short"}

    # The key expires with the notice (PEXPIREAT) ...
    async def stored() -> tuple[str, int]:
        store = Store.from_url(live_server.redis_url)
        try:
            key = store.k.notice("demo")
            return await store.r.get(key), await store.r.pttl(key)
        finally:
            await store.close()

    raw, ttl = run_async(stored())
    assert 0 < ttl <= 61_000

    # ... and one whose key outlives it for a moment (its expiry passed) is not served either.
    async def lagging() -> None:
        store = Store.from_url(live_server.redis_url)
        try:
            late = {**json.loads(raw), "expires_at": int(time.time() * 1000) - 1}
            await store.r.set(store.k.notice("demo"), json.dumps(late), px=60_000)
        finally:
            await store.close()

    run_async(lagging())
    assert widget_config(live_server.base_url)["notice"] is None
    assert call(live_server.base_url, "GET", token) == (200, {"notice": None})
    _, welcome = await cl.visitor(live_server.ws_url)
    assert welcome["notice"] is None


async def test_bad_input_and_roles_are_refused(live_server: LiveServer) -> None:
    live_server.add_agent("agent@example.com")
    live_server.add_agent("boss@example.com", role="supervisor")
    live_server.add_agent("far@example.com", role="supervisor", site="other")
    agent = live_server.login("agent@example.com")
    boss = live_server.login("boss@example.com")
    far = live_server.login("far@example.com")
    ok = {"text": {"en": "Delayed"}, "expires_in": 3600}
    assert call(live_server.base_url, "PUT", agent, ok)[0] == 403
    assert call(live_server.base_url, "DELETE", agent)[0] == 403
    assert call(live_server.base_url, "GET", agent)[0] == 403
    assert call(live_server.base_url, "PUT", "nobody", ok)[0] == 401
    # Another site's supervisor posts to their own site, never to this one.
    assert call(live_server.base_url, "PUT", far, ok)[0] == 200
    assert widget_config(live_server.base_url)["notice"] is None
    cases = [
        ({"text": {"en": " "}, "expires_in": 3600}, "notice_text_required"),
        ({"text": {"en": "x" * 501}, "expires_in": 3600}, "notice_too_long"),
        ({"text": {"xx": "hi"}, "expires_in": 3600}, "invalid_notice"),
        ({"text": "hi", "expires_in": 3600}, "invalid_notice"),
        ({"text": {"en": "hi"}}, "invalid_expiry"),
        ({"text": {"en": "hi"}, "expires_in": 31 * 86400}, "invalid_expiry"),
        ({"text": {"en": "hi"}, "expires_at": 1000}, "invalid_expiry"),
        ([1, 2], "invalid_json"),
    ]
    for body, code in cases:
        status, answer = call(live_server.base_url, "PUT", boss, body)
        assert (status, answer["error"]) == (400, code), (body, answer)
    # Nothing was posted by any of them.
    assert call(live_server.base_url, "GET", boss) == (200, {"notice": None})
    # Without the page's CSRF token a cookie session is refused.
    assert put_with_cookie(live_server.base_url, boss, ok) == 403


def put_with_cookie(base: str, session: str, body: Any) -> int:
    req = urllib.request.Request(
        base + "/api/console/notice",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Cookie": f"cs_session={session}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
