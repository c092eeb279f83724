"""Identity verification over the real visitor socket: forged, missing and replayed
signatures are refused with their documented codes and nothing is stored as verified; a valid
one marks the visitor verified for agents, and another device continues the same visitor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from chatserver import identity
from chatserver.store import Store
from tests import client as cl
from tests.integration.security_support import csrf, http
from tests.protocol_doc import documented_error_codes
from tests.servers import LiveServer

CODES = ("identity_invalid", "identity_expired", "identity_required")


@pytest_asyncio.fixture
async def store(live_server: LiveServer) -> AsyncIterator[Store]:
    s = Store.from_url(live_server.redis_url)
    yield s
    await s.close()


async def secret_of(store: Store, site: str = "demo") -> str:
    secret, _ = await store.ensure_identity_secret(site, int(time.time() * 1000))
    return secret


def signed(
    secret: str,
    user_id: str = "u-42",
    name: str = "Ali Rezaei",
    email: str = "ali@example.com",
    site: str = "demo",
    issued_at: int | None = None,
) -> dict[str, Any]:
    """The fields a page passes on, signed as the site's backend would."""
    at = int(time.time()) if issued_at is None else issued_at
    return {
        "user_id": user_id,
        "name": name,
        "email": email,
        "issued_at": at,
        "signature": identity.sign(secret, site, user_id, name, email, at),
    }


async def refused(v: cl.Client, code: str) -> dict[str, Any]:
    err = await v.expect("error")
    assert err["code"] == code, err
    return err


async def nothing_verified(store: Store, visitor_id: str, site: str = "demo") -> None:
    record = await store.load_visitor(site, visitor_id) or {}
    assert not record.get("user_id") and not record.get("name"), record
    assert await store.r.hgetall(store.k.verified_users(site)) == {}


def test_the_codes_are_documented() -> None:
    assert set(CODES) <= documented_error_codes()


async def test_forged_and_replayed_signatures_are_refused(
    live_server: LiveServer, store: Store
) -> None:
    secret = await secret_of(store)
    await store.ensure_site("other")
    other_secret = await secret_of(store, "other")
    day_ago = int(time.time()) - identity.MAX_AGE_S - 60
    good = signed(secret)
    cases = {
        "a wrong secret": (signed("csi_guessed"), "identity_invalid"),
        "a tampered name": ({**good, "name": "Site Admin"}, "identity_invalid"),
        "a tampered email": ({**good, "email": "eve@example.com"}, "identity_invalid"),
        "a tampered user id": ({**good, "user_id": "u-1"}, "identity_invalid"),
        "a later time": ({**good, "issued_at": good["issued_at"] + 1}, "identity_invalid"),
        "signed for another site": (signed(other_secret, site="other"), "identity_invalid"),
        "another site's name, our secret": (signed(secret, site="other"), "identity_invalid"),
        "expired (a captured one)": (signed(secret, issued_at=day_ago), "identity_expired"),
        "from the future": (signed(secret, issued_at=int(time.time()) + 3600), "identity_expired"),
        "incomplete": ({k: v for k, v in good.items() if k != "signature"}, "identity_invalid"),
        "malformed": ({**good, "signature": "not-hex"}, "identity_invalid"),
    }
    for label, (fields, code) in cases.items():
        # In hello: the session starts (anonymous), the error follows the welcome.
        v, welcome = await cl.visitor(live_server.ws_url, **fields)
        assert (await v.expect("error"))["code"] == code, label
        await nothing_verified(store, welcome["visitor_id"])
        # In identify: refused, nothing stored.
        await v.send({"type": "identify", **fields})
        assert (await v.expect("error"))["code"] == code, label
        await v.send({"type": "ping"})
        await v.expect("pong")
        await nothing_verified(store, welcome["visitor_id"])
        await v.close()
    # A bad name or e-mail inside a signed identity refuses the whole of it.
    bad = signed(secret, name="Ali\nAdmin")
    v, welcome = await cl.visitor(live_server.ws_url, **bad)
    assert (await refused(v, "invalid_field"))["field"] == "name"
    await nothing_verified(store, welcome["visitor_id"])
    html = signed(secret, email="<b>ali</b>@example.com")
    await v.send({"type": "identify", **html})
    assert (await refused(v, "invalid_field"))["field"] == "email"
    await nothing_verified(store, welcome["visitor_id"])
    await v.close()
    assert live_server.nodes[0].crashes() == []


async def test_a_site_that_requires_verification_refuses_unsigned_details(
    live_server: LiveServer, store: Store
) -> None:
    await store.update_site("demo", {"require_identity": "1"})
    secret = await secret_of(store)
    v, welcome = await cl.visitor(live_server.ws_url, name="Ali", email="ali@example.com")
    await refused(v, "identity_required")
    await v.send({"type": "identify", "name": "Ali", "email": "ali@example.com"})
    await refused(v, "identity_required")
    await nothing_verified(store, welcome["visitor_id"])
    # Anonymous, the visitor still chats; a department alone is no identity claim.
    await v.send({"type": "identify", "department": ""})
    await v.send({"type": "message", "client_id": "m1", "text": "Anyone there?"})
    assert (await v.expect("ack"))["conversation_id"]
    assert v.of_type("error") == []
    # A signed identity is taken, at once on the same socket.
    await v.send({"type": "identify", **signed(secret)})
    await v.send({"type": "ping"})
    await v.expect("pong")
    assert v.of_type("error") == []
    record = await store.load_visitor("demo", welcome["visitor_id"]) or {}
    assert (record["user_id"], record["name"], record["email"]) == (
        "u-42",
        "Ali Rezaei",
        "ali@example.com",
    )
    await v.close()


async def test_a_verified_visitor_continues_on_another_device(
    live_server: LiveServer, store: Store
) -> None:
    live = live_server
    secret = await secret_of(store)
    live.add_agent("sara@example.com", name="Sara")
    agent, _ = await cl.agent(live.ws_url, live.login("sara@example.com"))

    # The phone: the page passes the identity its backend signed.
    phone, welcome = await cl.visitor(live.ws_url, **signed(secret))
    visitor_id = welcome["visitor_id"]
    await phone.send({"type": "message", "client_id": "p1", "text": "Where is order 4521?"})
    conv_id = (await phone.expect("ack"))["conversation_id"]
    assigned = await agent.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    shown = assigned["conversation"]["visitor"]
    assert (shown["verified"], shown["user_id"], shown["name"], shown["email"]) == (
        True,
        "u-42",
        "Ali Rezaei",
        "ali@example.com",
    )
    await agent.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "a1", "text": "On its way"}
    )
    await agent.expect("ack", lambda f: f["client_id"] == "a1")
    assert phone.of_type("error") == []

    # The laptop: another browser, no token, a fresh signature for the same user.
    # A signature of another second (a page rendered a moment later), not the phone's.
    laptop, welcome2 = await cl.visitor(
        live.ws_url, **signed(secret, issued_at=int(time.time()) + 1)
    )
    assert welcome2["visitor_id"] == visitor_id
    assert (welcome2["conversation"] or {})["id"] == conv_id
    await laptop.expect("synced", lambda f: f["conversation_id"] == conv_id)
    history = [f["text"] for f in laptop.of_type("message") if f["from"] in ("visitor", "agent")]
    assert history == ["Where is order 4521?", "On its way"]
    # Its token resumes that visitor, and both devices follow the one conversation.
    await laptop.send({"type": "message", "client_id": "l1", "text": "Thanks, from the laptop"})
    await laptop.expect("ack")
    seen = await phone.expect("message", lambda f: f.get("client_id") == "l1")
    assert seen["conversation_id"] == conv_id
    assert laptop.of_type("error") == []

    # Self-declared details cannot replace verified ones.
    await laptop.send({"type": "identify", "name": "Eve", "email": "eve@example.com"})
    await refused(laptop, "identity_required")
    record = await store.load_visitor("demo", visitor_id) or {}
    assert (record["name"], record["email"]) == ("Ali Rezaei", "ali@example.com")

    # Someone else signs in on the phone's browser: their own record, not this one.
    other, welcome3 = await cl.visitor(
        live.ws_url, token=phone.token, **signed(secret, user_id="u-99", name="Sima", email="")
    )
    assert welcome3["visitor_id"] != visitor_id and welcome3["conversation"] is None
    users = await store.r.hgetall(store.k.verified_users("demo"))
    assert users == {"u-42": visitor_id, "u-99": welcome3["visitor_id"]}
    for c in (phone, laptop, other, agent):
        await c.close()
    assert live.nodes[0].crashes() == []


async def test_signing_in_during_a_session(live_server: LiveServer, store: Store) -> None:
    live = live_server
    secret = await secret_of(store)
    live.add_agent("sara@example.com", name="Sara")
    agent, _ = await cl.agent(live.ws_url, live.login("sara@example.com"))
    # Anonymous first; then the customer signs in on the site: the same visitor, verified.
    v, welcome = await cl.visitor(live.ws_url, name="ali")
    await v.send({"type": "message", "client_id": "m1", "text": "Hello"})
    conv_id = (await v.expect("ack"))["conversation_id"]
    assigned = await agent.expect("assigned")
    assert assigned["conversation"]["visitor"]["verified"] is False
    await v.send({"type": "identify", **signed(secret, user_id="u-7")})
    changed = await agent.expect("visitor", lambda f: f["conversation_id"] == conv_id)
    assert changed["visitor"]["verified"] is True and changed["visitor"]["name"] == "Ali Rezaei"
    await v.send({"type": "message", "client_id": "m2", "text": "Signed in now"})
    msg = await agent.expect("message", lambda f: f.get("client_id") == "m2")
    assert msg["author"]["name"] == "Ali Rezaei"

    # Another browser, anonymous, signs in as the same customer: told to reconnect, and
    # its next hello (same signature) continues the customer's visitor.
    b, welcome_b = await cl.visitor(live.ws_url)
    claim = signed(secret, user_id="u-7")
    await b.send({"type": "identify", **claim})
    assert (await b.expect("reconnect"))["after_ms"] == 0
    await b.close()
    b2, welcome_b2 = await cl.visitor(live.ws_url, token=b.token, **claim)
    assert welcome_b2["visitor_id"] == welcome["visitor_id"] != welcome_b["visitor_id"]
    assert (welcome_b2["conversation"] or {})["id"] == conv_id
    for c in (v, b2, agent):
        await c.close()


async def test_two_first_sign_ins_at_once_share_one_visitor(
    live_server: LiveServer, store: Store
) -> None:
    secret = await secret_of(store)
    claim = signed(secret, user_id="u-race")
    pairs = await asyncio.gather(*(cl.visitor(live_server.ws_url, **claim) for _ in range(4)))
    ids = {welcome["visitor_id"] for _, welcome in pairs}
    assert len(ids) == 1
    assert await store.r.hgetall(store.k.verified_users("demo")) == {"u-race": ids.pop()}
    for c, _ in pairs:
        assert c.of_type("error") == []
        await c.close()


async def test_the_rest_api_and_the_admin_page(live_server: LiveServer, store: Store) -> None:
    live = live_server
    secret = await secret_of(store)
    v, welcome = await cl.visitor(live.ws_url, **signed(secret))
    await v.close()
    _, key = await store.issue_api_key("demo", "crm", "write", int(time.time() * 1000), "a_x")
    path = f"/api/v1/visitors/{welcome['visitor_id']}"
    got = await asyncio.to_thread(cl.rest, live.base_url, key, "GET", path)
    assert (got["verified"], got["user_id"]) == (True, "u-42")
    # The backend's API key may change verified details: they stay verified.
    patched = await asyncio.to_thread(
        cl.rest, live.base_url, key, "PATCH", path, {"email": "ali@work.example"}
    )
    assert (patched["verified"], patched["email"]) == (True, "ali@work.example")

    # The secret: admins see and rotate it; supervisors see neither it nor the form.
    live.add_agent("root@example.com", role="admin", name="Root")
    live.add_agent("boss@example.com", role="supervisor", name="Boss")
    root, boss = live.login("root@example.com"), live.login("boss@example.com")
    page = await asyncio.to_thread(http, live.base_url, "/admin/sites/demo", token=root)
    assert page.status == 200 and secret in page.body
    looked = await asyncio.to_thread(http, live.base_url, "/admin/sites/demo", token=boss)
    assert looked.status == 200 and secret not in looked.body and "csi_" not in looked.body
    rotate = "/admin/sites/demo/identity/rotate"
    for token in (boss, root):
        cookie = await asyncio.to_thread(csrf, live.base_url, token, "/admin/sites/demo")
        no_token = await asyncio.to_thread(http, live.base_url, rotate, {}, token=token)
        assert no_token.status == 403
        reply = await asyncio.to_thread(
            http,
            live.base_url,
            rotate,
            {"csrf_token": cookie["cs_csrf"]},
            token=token,
            cookies=cookie,
        )
        assert reply.status == (403 if token == boss else 303)
    new_secret, _ = await store.identity_secret("demo") or ("", 0)
    assert new_secret and new_secret != secret
    # The old secret's signatures are refused from now on.
    v2, _ = await cl.visitor(live.ws_url, **signed(secret, user_id="u-8"))
    await refused(v2, "identity_invalid")
    await v2.close()
