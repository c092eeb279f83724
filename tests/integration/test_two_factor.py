"""Two-factor sign-in end to end on a real server: set up on the account page, then the
second step refuses a wrong, an expired and a replayed code and takes a good code and a
recovery code once each; the site setting that requires it of admins and supervisors holds
for pages, sockets and the JSON login; turning it off; an admin's reset."""

from __future__ import annotations

import asyncio

from chatserver.core.policy import REQUIRE_TWO_FACTOR
from tests import client as cl
from tests.integration.account_support import (
    audit_entries,
    code_login,
    enable_two_factor,
    form_login,
    get,
    json_login,
    pending_of,
    post,
    session_of,
    store_call,
)
from tests.integration.security_support import http
from tests.servers import LiveServer


def test_second_step_codes_wrong_expired_replayed_and_recovery(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("two@example.com", name="Two")
    first = session_of(form_login(base, "two@example.com"))
    tf = enable_two_factor(base, first)

    # The password step says nothing of the second factor until the password is right.
    wrong_password = form_login(base, "two@example.com", "not-the-password")
    assert wrong_password.status == 401 and 'name="pending"' not in wrong_password.body

    step = form_login(base, "two@example.com")
    assert step.status == 200 and "cs_session" not in step.cookies
    pending = pending_of(step)
    valid = {tf.code(s) for s in range(tf.step - 1, tf.step + 3)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in valid)
    assert code_login(base, pending, wrong).status == 401
    expired = tf.code(tf.step - 3)  # older than the one step of drift allowed
    assert expired not in valid
    assert code_login(base, pending, expired).status == 401
    # The code that confirmed the setup is spent already.
    assert code_login(base, pending, tf.code(tf.step)).status == 401
    good = tf.code(tf.step + 1)  # the next step: within the drift window
    signed_in = code_login(base, pending, good)
    token = session_of(signed_in)
    assert get(base, "/agent", token).status == 200
    # The pending sign-in is used up, and the same code cannot sign in again.
    assert code_login(base, pending, good).status == 400
    again = pending_of(form_login(base, "two@example.com"))
    assert code_login(base, again, good).status == 401
    # A recovery code signs in once.
    session_of(code_login(base, again, tf.recovery[0].upper()))
    third = pending_of(form_login(base, "two@example.com"))
    assert code_login(base, third, tf.recovery[0]).status == 401
    page = http(base, "/account", token=token)
    assert "9 recovery codes left" in page.body

    actions = [e.action for e in audit_entries(live_server)]
    assert actions.count("sign_in_failed") >= 6  # wrong password, 4 bad codes, reused recovery
    assert "recovery_code_used" in actions and "two_factor_enabled" in actions
    failed = audit_entries(live_server, action="sign_in_failed", text="replayed")
    assert failed and failed[0].actor_name == "Two"


def test_too_many_codes_need_the_password_again(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("many@example.com")
    tf = enable_two_factor(base, session_of(form_login(base, "many@example.com")))
    pending = pending_of(form_login(base, "many@example.com"))
    valid = {tf.code(s) for s in range(tf.step - 1, tf.step + 3)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in valid)
    for _ in range(5):
        assert code_login(base, pending, wrong).status == 401
    # The sixth try ends the pending sign-in, even with a good code.
    assert code_login(base, pending, tf.code(tf.step + 1)).status == 401
    assert code_login(base, pending, tf.code(tf.step + 1)).status == 400


def test_json_login_takes_the_code(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("api2@example.com")
    tf = enable_two_factor(base, session_of(form_login(base, "api2@example.com")))
    creds = {"email": "api2@example.com", "password": "password123"}
    missing = json_login(base, creds)
    assert missing.status == 401 and '"two_factor_required"' in missing.body
    wrong = json_login(base, {**creds, "code": "12345x"})
    assert wrong.status == 401 and '"invalid_code"' in wrong.body
    ok = json_login(base, {**creds, "code": tf.code(tf.step + 1)})
    assert ok.status == 200 and '"token"' in ok.body
    replayed = json_login(base, {**creds, "code": tf.code(tf.step + 1)})
    assert replayed.status == 401 and '"invalid_code"' in replayed.body
    recovered = json_login(base, {**creds, "code": tf.recovery[3]})
    assert recovered.status == 200


async def test_required_two_factor_holds_for_pages_sockets_and_json(
    live_server: LiveServer,
) -> None:
    base = live_server.base_url
    admin_id = live_server.add_agent("boss@example.com", role="admin", name="Boss")
    live_server.add_agent("plain@example.com", name="Plain")

    async def require(store: object) -> None:
        await store.update_site("demo", {REQUIRE_TWO_FACTOR: "1"})  # type: ignore[attr-defined]

    store_call(live_server, require)
    # The JSON login refuses outright: there is nowhere to set it up in JSON.
    refused = await asyncio.to_thread(
        json_login, base, {"email": "boss@example.com", "password": "password123"}
    )
    assert refused.status == 403 and '"two_factor_setup_required"' in refused.body
    # Agents are not concerned.
    plain = await asyncio.to_thread(
        json_login, base, {"email": "plain@example.com", "password": "password123"}
    )
    assert plain.status == 200

    token = session_of(await asyncio.to_thread(form_login, base, "boss@example.com"))
    for path in ("/agent", "/admin/agents", "/dashboard", f"/admin/agents/{admin_id}"):
        reply = await asyncio.to_thread(get, base, path, token)
        assert (reply.status, reply.headers.get("location")) == (303, "/account"), path
    api = await asyncio.to_thread(http, base, "/api/console/team", token=token)
    assert api.status == 403 and '"two_factor_setup_required"' in api.body
    sock = await cl.Client.connect(
        f"{live_server.ws_url}/ws/agent", headers={"Authorization": f"Bearer {token}"}
    )
    assert (await sock.expect("error"))["code"] == "two_factor_setup_required"
    await asyncio.wait_for(sock._reader, 5)
    assert sock.closed_code == 4401
    dash = await cl.Client.connect(
        f"{live_server.ws_url}/ws/dashboard", headers={"Authorization": f"Bearer {token}"}
    )
    assert (await dash.expect("error"))["code"] == "two_factor_setup_required"
    account = await asyncio.to_thread(http, base, "/account", token=token)
    assert account.status == 200 and 'data-testid="two-factor-required"' in account.body

    tf = await asyncio.to_thread(enable_two_factor, base, token)
    assert (await asyncio.to_thread(get, base, "/agent", token)).status == 200
    sock, _ = await cl.agent(live_server.ws_url, token)
    await sock.close()
    # Turning it off is refused while the site requires it.
    off = await asyncio.to_thread(
        post, base, "/account/two-factor/disable", {"code": tf.code(tf.step + 1)}, token
    )
    assert off.status == 400


def test_disable_with_a_current_code_and_admin_reset(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("root@example.com", role="admin", name="Root")
    agent_id = live_server.add_agent("off@example.com", name="Off")
    token = session_of(form_login(base, "off@example.com"))
    tf = enable_two_factor(base, token)
    assert post(base, "/account/two-factor/disable", {"code": "000000"}, token).status == 400
    assert post(base, "/account/two-factor/setup", {}, token).status == 400  # on already
    off = post(base, "/account/two-factor/disable", {"code": tf.code(tf.step + 1)}, token)
    assert off.status == 303
    # Off: the password alone signs in again.
    session_of(form_login(base, "off@example.com"))

    # On again; the admin resets it (a lost phone).
    tf = enable_two_factor(base, token)
    assert form_login(base, "off@example.com").status == 200  # asks for the code
    root = session_of(form_login(base, "root@example.com"))
    page = http(base, f"/admin/agents/{agent_id}", token=root)
    assert 'data-testid="two-factor-reset"' in page.body
    reset = post(base, f"/admin/agents/{agent_id}/two-factor/reset", {}, root)
    assert reset.status == 303
    session_of(form_login(base, "off@example.com"))
    actions = {e.action: e for e in reversed(audit_entries(live_server))}
    assert actions["two_factor_disabled"].actor_name == "Off"
    assert actions["two_factor_reset"].actor_name == "Root"
    assert "off@example.com" in actions["two_factor_reset"].detail


async def test_one_code_signs_in_once_even_in_parallel(live_server: LiveServer) -> None:
    base = live_server.base_url
    live_server.add_agent("race@example.com")
    token = session_of(await asyncio.to_thread(form_login, base, "race@example.com"))
    tf = await asyncio.to_thread(enable_two_factor, base, token)
    body = {"email": "race@example.com", "password": "password123"}
    code, recovery = tf.code(tf.step + 1), tf.recovery[5]
    replies = await asyncio.gather(
        *(asyncio.to_thread(json_login, base, {**body, "code": code}) for _ in range(4)),
        *(asyncio.to_thread(json_login, base, {**body, "code": recovery}) for _ in range(4)),
    )
    statuses = [r.status for r in replies]
    assert statuses[:4].count(200) == 1 and statuses[4:].count(200) == 1, statuses
