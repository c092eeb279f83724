"""The REST API v1 on a real server: a whole chat driven through it against a visitor socket,
every response checked against the OpenAPI document the server publishes, and the refusals
(no key, a revoked key, too small a scope, a bad body, the per-key rate limit)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from chatserver.embedded_redis import EmbeddedRedis
from chatserver.store import Store
from tests import client as cl
from tests.servers import LiveServer


class Api:
    """A client of the REST API that checks every answer against the published schemas."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key
        with urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=10) as resp:
            self.doc: dict[str, Any] = json.loads(resp.read())
        self.calls: list[tuple[str, str, int]] = []

    def template(self, method: str, path: str) -> str:
        """The document's path that ``path`` is an instance of, for ``method``."""
        actual = path.split("?")[0].split("/")
        for template, ops in self.doc["paths"].items():
            parts = template.split("/")
            if (
                method.lower() in ops
                and len(parts) == len(actual)
                and all(p == a or p.startswith("{") for p, a in zip(parts, actual, strict=True))
            ):
                return str(template)
        raise AssertionError(f"{method} {path} is not in the document")

    def _schema(self, method: str, path: str, status: int) -> dict[str, Any]:
        op = self.doc["paths"][self.template(method, path)][method.lower()]
        assert str(status) in op["responses"], (method, path, status)
        schema: dict[str, Any] = op["responses"][str(status)]["content"]["application/json"]
        return schema["schema"]  # type: ignore[no-any-return]

    def _call(self, method: str, path: str, body: Any, key: str | None) -> tuple[int, Any, Any]:
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read()), resp.headers
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read()), err.headers

    async def __call__(
        self, method: str, path: str, body: Any = None, key: str | None = "", expect: int = 200
    ) -> Any:
        status, data, headers = await asyncio.to_thread(
            self._call, method, path, body, self.key if key == "" else key
        )
        assert status == expect, (method, path, status, data)
        errors = list(Draft202012Validator(self._schema(method, path, status)).iter_errors(data))
        assert not errors, (method, path, [e.message for e in errors])
        self.calls.append((method, self.template(method, path), status))
        self.headers = headers
        return data


def cli_key(live: LiveServer, tmp_path: Path, scope: str, *more: str) -> str:
    env = {**os.environ, "REDIS_URL": live.redis_url, "CHATSERVER_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "chatserver", "apikey", *more, "--scope", scope],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode().strip().splitlines()[-1]


def cli(live: LiveServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "REDIS_URL": live.redis_url, "CHATSERVER_DATA_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "chatserver", "apikey", *args],
        env=env,
        capture_output=True,
        timeout=60,
    )


async def test_a_whole_chat_through_the_api(live_server: LiveServer, tmp_path: Path) -> None:
    live = live_server
    key = cli_key(live, tmp_path, "write", "add", "--name", "CRM", "--site", "demo")
    assert key.startswith("csk_")
    api = Api(live.base_url, key)
    validate(api.doc)  # the document itself is valid OpenAPI 3.1

    ann = live.add_agent("ann@example.com", name="Ann", capacity=2)
    # Away: the router leaves the chat queued, so the API assigns it.
    agent, _ = await cl.agent(live.ws_url, live.login("ann@example.com"), status="away")
    visitor, _ = await cl.visitor(live.ws_url)
    await visitor.send({"type": "message", "client_id": "v1", "text": "سلام، سفارشم کجاست؟"})
    conv = (await visitor.expect("ack"))["conversation_id"]

    page = await api("GET", "/api/v1/conversations?status=queued&limit=10")
    assert [c["id"] for c in page["items"]] == [conv]
    assert page["items"][0]["preview"] == "سلام، سفارشم کجاست؟"
    # Search (q): the server's indexer picks the message up within a turn or two; typed on an
    # Arabic keyboard (ك) the word still matches.
    for _ in range(50):
        found = await api("GET", "/api/v1/conversations?q=%D9%83%D8%AC%D8%A7%D8%B3%D8%AA")
        if found["items"]:
            break
        await asyncio.sleep(0.1)
    assert [c["id"] for c in found["items"]] == [conv]
    assert (await api("GET", "/api/v1/conversations?q=nothing-like-it"))["items"] == []
    assert (await api("GET", f"/api/v1/conversations/{conv}"))["status"] == "queued"

    await api("POST", f"/api/v1/conversations/{conv}/assign", {"agent_id": ann})
    assert (await visitor.expect("assigned"))["agent"]["name"] == "Ann"
    await agent.expect("assigned", lambda f: f["conversation_id"] == conv)

    sent = await api(
        "POST",
        f"/api/v1/conversations/{conv}/messages",
        {"agent_id": ann, "text": "در راه است", "client_id": "crm-1"},
        expect=201,
    )
    assert sent["duplicate"] is False
    again = await api(
        "POST",
        f"/api/v1/conversations/{conv}/messages",
        {"agent_id": ann, "text": "در راه است", "client_id": "crm-1"},
        expect=201,
    )
    assert again["duplicate"] is True and again["id"] == sent["id"]
    await api(
        "POST",
        f"/api/v1/conversations/{conv}/notes",
        {"agent_id": ann, "text": "VIP customer", "client_id": "crm-2"},
        expect=201,
    )
    await api(
        "POST",
        f"/api/v1/conversations/{conv}/messages",
        {"agent_id": ann, "text": "marker", "client_id": "crm-3"},
        expect=201,
    )

    # The visitor gets the reply once and never the note: the marker comes right after.
    def agent_or_note(f: dict[str, Any]) -> bool:
        return f["from"] in ("agent", "note")

    got = [await visitor.expect("message", agent_or_note) for _ in range(2)]
    assert [m["text"] for m in got] == ["در راه است", "marker"], got

    messages = await api("GET", f"/api/v1/conversations/{conv}/messages?limit=1000")
    texts = [(m["from"], m["text"]) for m in messages["items"]]
    assert ("note", "VIP customer") in texts and ("agent", "در راه است") in texts
    assert messages["next_cursor"] is None
    first = await api("GET", f"/api/v1/conversations/{conv}/messages?limit=1")
    rest = await api(
        "GET", f"/api/v1/conversations/{conv}/messages?after={first['next_cursor']}&limit=1000"
    )
    assert first["items"] + rest["items"] == messages["items"]

    visitor_id = page["items"][0]["visitor"]["id"]
    await api("PATCH", f"/api/v1/visitors/{visitor_id}", {"name": "Sara", "email": "s@ex.com"})
    changed = await agent.expect("visitor")
    assert changed["visitor"]["name"] == "Sara"
    assert (await api("GET", f"/api/v1/visitors/{visitor_id}"))["email"] == "s@ex.com"
    for field, value in (("name", "Ali\u202eila"), ("name", "two\nlines"), ("email", "a\x07@b.co")):
        bad = await api("PATCH", f"/api/v1/visitors/{visitor_id}", {field: value}, expect=400)
        assert bad["error"]["field"] == field, bad
    assert (await api("GET", f"/api/v1/visitors/{visitor_id}"))["name"] == "Sara"  # unchanged
    history = await api("GET", f"/api/v1/visitors/{visitor_id}/conversations")
    assert [c["id"] for c in history["items"]] == [conv]

    agents = await api("GET", "/api/v1/agents")
    assert [(a["id"], a["status"], a["load"]) for a in agents["items"]] == [(ann, "away", 1)]
    assert (await api("GET", f"/api/v1/agents/{ann}"))["name"] == "Ann"
    await api("GET", "/api/v1/departments")
    await api("GET", "/api/v1/canned_responses")
    # Labels (tests/integration/test_labels.py has the rest): the site's, set on the chat.
    label_store = Store.from_url(live.redis_url)
    try:
        label = await label_store.save_label("demo", "", "پرداخت", "green")
    finally:
        await label_store.close()
    assert (await api("GET", "/api/v1/labels"))["items"][0]["id"] == label
    put = {"labels": [label]}
    labelled = await api("PUT", f"/api/v1/conversations/{conv}/labels", put)
    assert labelled["labels"] == [{"id": label, "name": "پرداخت", "color": "green"}]
    by_label = await api("GET", f"/api/v1/conversations?label={label}")
    assert [c["id"] for c in by_label["items"]] == [conv]

    done = await api("POST", f"/api/v1/conversations/{conv}/resolve", {})
    assert done["ok"] is True
    ended = await visitor.expect("resolved")
    assert ended["by"] == "system" and ended["status"] == "resolved"
    closed = await api(
        "POST",
        f"/api/v1/conversations/{conv}/messages",
        {"agent_id": ann, "text": "late"},
        expect=409,
    )
    assert closed["error"]["code"] == "conversation_closed"
    await api("POST", f"/api/v1/conversations/{conv}/reopen", {"agent_id": ann})
    assert (await api("GET", f"/api/v1/conversations/{conv}"))["status"] == "assigned"

    bob = live.add_agent("bob@example.com", name="Bob")
    bob_socket, _ = await cl.agent(live.ws_url, live.login("bob@example.com"))
    await api(
        "POST",
        f"/api/v1/conversations/{conv}/transfer",
        {"agent_id": ann, "to_agent_id": bob, "note": "billing question"},
    )
    await bob_socket.expect("assigned", lambda f: f["conversation_id"] == conv)
    assert (await api("GET", f"/api/v1/conversations/{conv}"))["agent"]["id"] == bob
    wrong = await api(
        "POST",
        f"/api/v1/conversations/{conv}/transfer",
        {"agent_id": ann, "department": ""},
        expect=403,
    )
    assert wrong["error"]["code"] == "forbidden"  # Ann no longer holds it

    # The webhook endpoints and the feed, with an admin key (deliveries: test_webhooks.py).
    admin = Api(live.base_url, cli_key(live, tmp_path, "admin", "add", "--name", "Ops"))
    made = await admin(
        "POST",
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": ["message.created"]},
        expect=201,
    )
    assert made["secret"].startswith("whsec_")
    hook = made["id"]
    listed = await admin("GET", "/api/v1/webhooks")
    assert [h["id"] for h in listed["items"]] == [hook] and "secret" not in listed["items"][0]
    assert (await admin("GET", f"/api/v1/webhooks/{hook}"))["events"] == ["message.created"]
    await api(
        "POST",
        f"/api/v1/conversations/{conv}/messages",
        {"agent_id": bob, "text": "now in the feed", "client_id": "crm-9"},
        expect=201,
    )
    feed = await admin("GET", "/api/v1/events?limit=100")
    assert feed["items"][-1]["type"] == "message.created"
    assert feed["items"][-1]["data"]["text"] == "now in the feed"
    await admin("GET", f"/api/v1/webhooks/{hook}/dead_letters")
    await admin("POST", f"/api/v1/webhooks/{hook}/replay", {"since": 0})
    refused = await api("GET", "/api/v1/webhooks", expect=403)  # a write key is not admin
    assert refused["error"]["code"] == "forbidden"
    bad = await admin("POST", "/api/v1/webhooks", {"url": "ftp://x"}, expect=400)
    assert bad["error"]["field"] == "url"
    # Supervision fills it (its own test); here: sign-ins and the keys' use, with filters.
    audit = await admin("GET", "/api/v1/audit?action=monitor&limit=10")
    assert audit == {"items": [], "next_cursor": None}
    audit = await admin("GET", "/api/v1/audit?action=api_key_used")
    assert {i["actor"]["name"] for i in audit["items"]} == {"CRM", "Ops"}
    bad = await admin("GET", "/api/v1/audit?before=junk", expect=400)
    assert bad["error"]["field"] == "before"
    # The privacy tools (docs/privacy.md): everything about the visitor, then none of it.
    exported = await admin("GET", f"/api/v1/privacy/export?visitor_id={visitor_id}")
    assert [v["visitor_id"] for v in exported["visitors"]] == [visitor_id]
    assert exported["visitors"][0]["conversations"][0]["id"] == conv
    erased = await admin("POST", "/api/v1/privacy/erase", {"visitor_id": visitor_id})
    assert erased["visitors"] == 1 and erased["conversations"] == 1
    nobody = await admin("GET", f"/api/v1/privacy/export?visitor_id={visitor_id}")
    assert nobody["visitors"] == []
    await admin("DELETE", f"/api/v1/webhooks/{hook}")
    await admin("GET", f"/api/v1/webhooks/{hook}", expect=404)
    # The site's notice to visitors (tests/integration/test_notices.py has the live side).
    assert await admin("GET", "/api/v1/notice") == {"notice": None}
    posted = await admin("PUT", "/api/v1/notice", {"text": {"fa": "تأخیر"}, "expires_in": 3600})
    assert posted["notice"]["text"] == {"fa": "تأخیر"} and posted["notice"]["by"] == "Ops"
    assert (await admin("GET", "/api/v1/notice"))["notice"] == posted["notice"]
    bad = await admin("PUT", "/api/v1/notice", {"text": {"en": " "}, "expires_in": 60}, expect=400)
    assert bad["error"]["field"] == "text"
    bad = await admin("PUT", "/api/v1/notice", {"text": {"en": "x"}}, expect=400)
    assert bad["error"]["field"] == "expires_at"
    await api("PUT", "/api/v1/notice", {"text": {"en": "x"}, "expires_in": 60}, expect=403)
    assert await admin("DELETE", "/api/v1/notice") == {"ended": True}
    api.calls += admin.calls

    # Every endpoint of the document was called, and answered as it says.
    called = {(m, t) for m, t, _ in api.calls}
    every = {(m.upper(), t) for t, ops in api.doc["paths"].items() for m in ops}
    assert every - called == set()
    for c in (visitor, agent, bob_socket):
        await c.close()


async def test_a_named_bot_writes_to_a_queued_chat(live_server: LiveServer, tmp_path: Path) -> None:
    """A bot's message reaches the visitor (and the agent who takes the chat later) with its
    name, once; it leaves the status and the response clocks to the people."""
    live = live_server
    api = Api(live.base_url, cli_key(live, tmp_path, "write", "add", "--name", "Orders"))
    visitor, _ = await cl.visitor(live.ws_url)
    await visitor.send({"type": "message", "client_id": "v1", "text": "سفارش ۴۲ کجاست؟"})
    conv = (await visitor.expect("ack"))["conversation_id"]
    await visitor.expect("queue")

    said = {"bot": {"name": "ربات سفارش", "id": "orders"}, "text": "ارسال شد", "client_id": "b1"}
    sent = await api("POST", f"/api/v1/conversations/{conv}/messages", said, expect=201)
    again = await api("POST", f"/api/v1/conversations/{conv}/messages", said, expect=201)
    assert again["duplicate"] is True and again["id"] == sent["id"]
    got = await visitor.expect("message", lambda f: f["from"] != "visitor")
    assert got["from"] == "bot" and got["id"] == sent["id"] and got["text"] == "ارسال شد"
    assert got["author"] == {"id": "orders", "name": "ربات سفارش"}
    anon = await api(
        "POST",
        f"/api/v1/conversations/{conv}/messages",
        {"bot": {"name": "Helper"}, "text": "marker"},
        expect=201,
    )
    marker = await visitor.expect("message", lambda f: f["from"] != "visitor")
    assert marker["id"] == anon["id"] and marker["author"]["id"] == "bot"  # not twice

    conversation = await api("GET", f"/api/v1/conversations/{conv}")
    assert conversation["status"] == "queued" and conversation["agent"] is None
    store = Store.from_url(live.redis_url)
    try:
        kept = await store.get_conversation("demo", conv)
    finally:
        await store.close()
    assert kept is not None and "first_agent_reply_at" not in kept  # the clock still runs

    # The agent who takes the chat sees the bot's messages in the history, in order.
    live.add_agent("bea@example.com", name="Bea")
    agent, _ = await cl.agent(live.ws_url, live.login("bea@example.com"))
    await agent.expect("assigned", lambda f: f["conversation_id"] == conv)
    seen = []
    while (frame := await agent.expect(None, lambda f: f["type"] in ("message", "synced")))[
        "type"
    ] == "message":
        if frame["from"] != "system":
            seen.append((frame["from"], frame["author"]["name"], frame["text"]))
    assert [(f, n) for f, n, _ in seen[1:]] == [("bot", "ربات سفارش"), ("bot", "Helper")]
    assert [t for _, _, t in seen] == ["سفارش ۴۲ کجاست؟", "ارسال شد", "marker"]
    listed = await api("GET", f"/api/v1/conversations/{conv}/messages")
    assert [m["from"] for m in listed["items"] if m["from"] == "bot"] == ["bot", "bot"]

    await api("POST", f"/api/v1/conversations/{conv}/resolve", {})
    late = {"bot": {"name": "Helper"}, "text": "late"}
    closed = await api("POST", f"/api/v1/conversations/{conv}/messages", late, expect=409)
    assert closed["error"]["code"] == "conversation_closed"
    retried = await api("POST", f"/api/v1/conversations/{conv}/messages", said, expect=201)
    assert retried["duplicate"] is True  # a retry after the end still gets its receipt
    metrics = await asyncio.to_thread(
        lambda: urllib.request.urlopen(live.base_url + "/metrics", timeout=10).read().decode()
    )
    assert 'chatserver_messages_total{kind="bot",site="demo"} 2.0' in metrics
    for c in (visitor, agent):
        await c.close()


async def test_refusals(live_server: LiveServer, tmp_path: Path) -> None:
    live = live_server
    reader = cli_key(live, tmp_path, "read", "add", "--name", "BI", "--site", "demo")
    api = Api(live.base_url, reader)
    missing = await api("GET", "/api/v1/conversations", key=None, expect=401)
    assert missing["error"]["code"] == "unauthorized"
    wrong = await api("GET", "/api/v1/agents", key=reader[:-2] + "xx", expect=401)
    assert wrong["error"]["code"] == "unauthorized"
    scope = await api("POST", "/api/v1/conversations/c_nope/resolve", {}, expect=403)
    assert scope["error"]["code"] == "forbidden"
    assert (await api("GET", "/api/v1/conversations/c_nope", expect=404))["error"]["code"] == (
        "not_found"
    )
    bad = await api("GET", "/api/v1/conversations?limit=1000", expect=400)
    assert bad["error"]["field"] == "limit"
    bad = await api("GET", "/api/v1/conversations?cursor=junk", expect=400)
    assert bad["error"]["field"] == "cursor"

    writer = cli_key(live, tmp_path, "write", "add", "--name", "Bot", "--site", "demo")
    api_w = Api(live.base_url, writer)
    body = await api_w("POST", "/api/v1/conversations/c_x/messages", {"text": "hi"}, expect=400)
    assert body["error"] == {
        "code": "invalid_request",
        "message": "give exactly one of agent_id and bot",
    }
    both = {"agent_id": "a_x", "bot": {"name": "Bot"}, "text": "hi"}
    body = await api_w("POST", "/api/v1/conversations/c_x/messages", both, expect=400)
    assert body["error"]["message"] == "give exactly one of agent_id and bot"
    for name in ("   ", "two\nlines", "x" * 61, ""):
        body = await api_w(
            "POST",
            "/api/v1/conversations/c_x/messages",
            {"bot": {"name": name}, "text": "hi"},
            expect=400,
        )
        assert body["error"]["field"] == "bot.name", (name, body)
    body = await api_w(
        "POST",
        "/api/v1/conversations/c_x/messages",
        {"bot": {"name": "Bot", "id": "has space"}, "text": "hi"},
        expect=400,
    )
    assert body["error"]["field"] == "bot.id"
    extra = await api_w(
        "POST",
        "/api/v1/conversations/c_x/messages",
        {"agent_id": "a", "text": "hi", "x": 1},
        expect=400,
    )
    assert extra["error"]["code"] == "invalid_request"
    long = await api_w(
        "POST",
        "/api/v1/conversations/c_x/messages",
        {"agent_id": "a_x", "text": "ش" * 4001},
        expect=400,
    )
    assert long["error"]["field"] == "text"

    listed = cli(live, tmp_path, "list", "--site", "demo")
    assert listed.returncode == 0 and b"BI" in listed.stdout and b"Bot" in listed.stdout
    key_id = reader.split("_")[1]
    assert cli(live, tmp_path, "revoke", key_id).returncode == 0
    revoked = await api("GET", "/api/v1/agents", expect=401)
    assert revoked["error"]["code"] == "unauthorized"
    assert b"revoked" in cli(live, tmp_path, "list", "--site", "demo").stdout


async def test_the_per_key_rate_limit(redis_server: EmbeddedRedis, tmp_path: Path) -> None:
    live = LiveServer(redis_server, tmp_path / "server")
    live.start_node({"CHATSERVER_LIMIT_API_PER_MINUTE": "3"})
    try:
        key = cli_key(live, tmp_path, "read", "add", "--name", "Busy", "--site", "demo")
        api = Api(live.base_url, key)
        for _ in range(3):
            await api("GET", "/api/v1/departments")
        over = await api("GET", "/api/v1/departments", expect=429)
        assert over["error"]["code"] == "rate_limited"
        assert 1 <= int(api.headers["Retry-After"]) <= 60
    finally:
        live.stop()


def test_the_reference_page_lists_every_endpoint(live_server: LiveServer) -> None:
    with urllib.request.urlopen(live_server.base_url + "/api/v1/openapi.json") as resp:
        doc = json.loads(resp.read())
    with urllib.request.urlopen(live_server.base_url + "/api/v1/reference") as resp:
        page = resp.read().decode()
    count = 0
    for path, ops in doc["paths"].items():
        for method in ops:
            assert f"<code>{method.upper()} {path}</code>" in page, (method, path)
            count += 1
    assert count >= 16
