"""Transcripts by e-mail against a real SMTP server on loopback: sent by the site after a
resolve and asked for by the visitor (POST /api/widget/transcript), in the visitor's language
(Persian right to left), as plain text and HTML, never with notes or whispers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import redis

from chatserver.embedded_redis import EmbeddedRedis
from chatserver.keys import Keys
from tests import client as cl
from tests.integration.security_support import http
from tests.servers import LiveServer
from tests.smtp_server import SmtpServer

K = Keys()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live(redis_server: EmbeddedRedis, tmp_path: Path, smtp: SmtpServer) -> Iterator[LiveServer]:
    r = redis.Redis.from_url(redis_server.url, decode_responses=True)
    r.hset(
        K.site("demo"), mapping={"name": "فروشگاه", "allowed_origins": "*", "transcript_auto": "1"}
    )
    r.sadd(K.sites(), "demo")
    r.close()
    servers = LiveServer(redis_server, tmp_path / "server")
    servers.start_node(smtp.env())
    yield servers
    servers.stop()


async def mail_to(smtp: SmtpServer, to: str, count: int = 1) -> list[EmailMessage]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        got = [m for m in list(smtp.messages) if str(m["To"]) == to]
        if len(got) >= count:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail to {to}: {[str(m['To']) for m in smtp.messages]}")


def ask(live: LiveServer, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    reply = http(live.base_url, "/api/widget/transcript", json_body=json.dumps(body).encode())
    return reply.status, json.loads(reply.body)


async def chat_with_private_lines(
    live: LiveServer, **hello: Any
) -> tuple[cl.Client, cl.Client, str]:
    """A chat where the agent answers, writes a note and a supervisor whispers."""
    v, _ = await cl.visitor(live.ws_url, **hello)
    await v.send({"type": "message", "client_id": "v1", "text": "سفارش ۴۲ <b>کجاست</b>؟"})
    conv_id = (await v.expect("ack"))["conversation_id"]
    sara, _ = await cl.agent(live.ws_url, live.login("sara@example.com"))
    await sara.expect("assigned", lambda f: f["conversation_id"] == conv_id, timeout=15)
    await sara.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "a1", "text": "امروز ارسال شد"}
    )
    await v.expect("message", lambda f: f.get("client_id") == "a1")
    await sara.send(
        {"type": "note", "conversation_id": conv_id, "client_id": "n1", "text": "SECRET-NOTE"}
    )
    await sara.expect("message", lambda f: f.get("client_id") == "n1")
    sue, _ = await cl.agent(live.ws_url, live.login("sue@example.com"), status="away")
    await sue.send({"type": "monitor", "conversation_id": conv_id})
    await sue.send(
        {"type": "whisper", "conversation_id": conv_id, "client_id": "w1", "text": "SECRET-WHISPER"}
    )
    await sara.expect("message", lambda f: f.get("client_id") == "w1")
    await sue.close()
    return v, sara, conv_id


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


async def test_persian_transcript_after_resolve(live: LiveServer, smtp: SmtpServer) -> None:
    live.add_agent("sara@example.com", name="سارا")
    live.add_agent("sue@example.com", name="Sue", role="supervisor")
    v, sara, conv_id = await chat_with_private_lines(live, email="mina@example.com", locale="fa-IR")
    await sara.send({"type": "resolve", "conversation_id": conv_id})
    [mail] = await mail_to(smtp, "mina@example.com")
    text, html = parts(mail)
    assert mail["Content-Language"] == "fa"
    assert "فروشگاه" in str(mail["Subject"])
    assert '<html lang="fa" dir="rtl">' in html and 'dir="rtl" lang="fa"' in html
    assert "امروز ارسال شد" in text and "امروز ارسال شد" in html
    # What the visitor wrote is text in the HTML, never markup.
    assert "&lt;b&gt;کجاست&lt;/b&gt;" in html and "<b>کجاست" not in html
    for private in ("SECRET-NOTE", "SECRET-WHISPER"):
        assert private not in text and private not in html
    for c in (v, sara):
        await c.close()


async def test_english_transcript_on_request(live: LiveServer, smtp: SmtpServer) -> None:
    live.add_agent("sara@example.com", name="Sara")
    live.add_agent("sue@example.com", name="Sue", role="supervisor")
    v, sara, conv_id = await chat_with_private_lines(live, locale="en-GB")
    token = v.token
    assert token
    base = {"site": "demo", "token": token, "conversation_id": conv_id}
    status, body = ask(live, base)
    assert (status, body["error"]["code"]) == (400, "email_required")
    status, body = ask(live, {**base, "conversation_id": "c_notyoursatall"})
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body = ask(live, {**base, "token": "forged"})
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    status, body = ask(live, {**base, "email": "ali@example.com"})
    assert status == 200 and body == {
        "queued": True,
        "conversation_id": conv_id,
        "to": "ali@example.com",
    }
    [mail] = await mail_to(smtp, "ali@example.com")
    text, html = parts(mail)
    assert mail["Content-Language"] == "en" and '<html lang="en" dir="ltr">' in html
    assert "Here is the transcript" in text and "Sara" in text
    for private in ("SECRET-NOTE", "SECRET-WHISPER"):
        assert private not in text and private not in html
    # The address was stored; two more fit in the hour, the fourth is refused.
    assert ask(live, base)[0] == 200
    assert ask(live, base)[0] == 200
    status, body = ask(live, base)
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert body["error"]["retry_after"] > 0
    await mail_to(smtp, "ali@example.com", 3)
    for c in (v, sara):
        await c.close()


INBOUND = {
    "CHATSERVER_MAIL_INBOUND_DOMAIN": "in.chat.test",
    "CHATSERVER_MAIL_INBOUND_TOKEN": "inbound-secret-token",
    "CHATSERVER_MAIL_REPLY_QUIET_S": "1",
}


def inbound(live: LiveServer, body: dict[str, str], token: str = "inbound-secret-token") -> Any:
    return http(
        live.base_url,
        "/api/mail/inbound",
        json_body=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}"},
    )


def mail_records(live: LiveServer) -> list[dict[str, str]]:
    r = redis.Redis.from_url(live.redis_url, decode_responses=True)
    try:
        ids = r.zrange(K.mail_log("demo"), 0, -1)
        return [r.hgetall(K.mail("demo", i)) for i in ids]
    finally:
        r.close()


async def test_offline_reply_round_trip_through_an_smtp_outage(
    redis_server: EmbeddedRedis, tmp_path: Path, smtp: SmtpServer
) -> None:
    live = LiveServer(redis_server, tmp_path / "server")
    try:
        live.start_node({**smtp.env(), **INBOUND})
        live.add_agent("sara@example.com", name="Sara")
        v, _ = await cl.visitor(live.ws_url, email="mina@example.com", locale="en")
        await v.send({"type": "message", "client_id": "v1", "text": "Is order 42 on its way?"})
        conv_id = (await v.expect("ack"))["conversation_id"]
        sara, _ = await cl.agent(live.ws_url, live.login("sara@example.com"))
        await sara.expect("assigned", lambda f: f["conversation_id"] == conv_id, timeout=15)
        await v.close()  # the visitor has gone

        smtp.stop()  # and the SMTP server is down while Sara answers
        for i, text in enumerate(["Let me check.", "It ships today, tracking 42-XYZ."]):
            await sara.send(
                {"type": "message", "conversation_id": conv_id, "client_id": f"s{i}", "text": text}
            )
            await sara.expect("ack", lambda f, i=i: f["client_id"] == f"s{i}")
        deadline = time.monotonic() + 20
        while not any(m.get("kind") == "reply" and m.get("last_error") for m in mail_records(live)):
            assert time.monotonic() < deadline, mail_records(live)
            await asyncio.sleep(0.05)
        smtp.start()
        [mail] = await mail_to(smtp, "mina@example.com")
        text, _ = parts(mail)
        assert "Let me check." in text and "tracking 42-XYZ" in text  # one mail for the burst
        reply_to = str(mail["Reply-To"])
        assert reply_to.startswith(f"reply+demo.{conv_id}.") and reply_to.endswith("@in.chat.test")

        # The visitor answers the mail; the provider's webhook brings it back.
        body = {
            "from": "Mina <MINA@example.com>",
            "to": reply_to,
            "subject": "Re: New reply from فروشگاه",
            "text": "Great, thanks!\n\nOn Tue, Dec 1, 2026 at 18:00 Support wrote:\n> Hi\n",
            "message_id": "<reply-1@mail.example.com>",
        }
        assert inbound(live, body, token="wrong").status == 401
        assert inbound(live, {**body, "from": "eve@example.com"}).status == 403
        forged = reply_to.replace(f".{conv_id}.", ".c_someoneelse.")
        assert inbound(live, {**body, "to": forged}).status == 404
        first = inbound(live, body)
        assert first.status == 200, first.body
        assert json.loads(first.body)["duplicate"] is False
        back = await sara.expect(
            "message",
            lambda f: f.get("from") == "visitor" and f["text"] != "Is order 42 on its way?",
        )
        assert (back["conversation_id"], back["text"]) == (conv_id, "Great, thanks!")
        again = inbound(live, body)  # the provider delivers it twice
        assert json.loads(again.body)["duplicate"] is True

        # Nothing lost or sent twice: every mail acknowledged, each Message-ID seen once.
        deadline = time.monotonic() + 20
        while not all(m.get("status") == "sent" for m in mail_records(live)):
            assert time.monotonic() < deadline, mail_records(live)
            await asyncio.sleep(0.05)
        assert set(smtp.by_message_id().values()) == {1}
        assert len(smtp.messages) == len(mail_records(live))
        r = redis.Redis.from_url(live.redis_url, decode_responses=True)
        stored = [
            f["t"] for _, f in r.xrange(K.messages("demo", conv_id)) if f.get("k") == "visitor"
        ]
        r.close()
        assert stored == ["Is order 42 on its way?", "Great, thanks!"]
        await sara.close()
    finally:
        live.stop()


async def test_a_mail_that_fails_is_shown_to_the_agents_only(
    live: LiveServer, smtp: SmtpServer
) -> None:
    live.add_agent("sara@example.com", name="Sara")
    v, _ = await cl.visitor(live.ws_url, email="bounce@example.com")
    await v.send({"type": "message", "client_id": "v1", "text": "Send me the transcript"})
    conv_id = (await v.expect("ack"))["conversation_id"]
    sara, _ = await cl.agent(live.ws_url, live.login("sara@example.com"))
    await sara.expect("assigned", lambda f: f["conversation_id"] == conv_id, timeout=15)
    assert v.token
    status, _ = ask(live, {"site": "demo", "token": v.token, "conversation_id": conv_id})
    assert status == 200  # queued; the SMTP server refuses the address (550)
    failed = await sara.expect("message", lambda f: f.get("event") == "mail_failed", timeout=15)
    assert "bounce@example.com" in failed["text"] and "550" in failed["text"]
    # A later message reaches the visitor; the failure line never did.
    await sara.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "a1", "text": "Hi"}
    )
    await v.expect("message", lambda f: f.get("client_id") == "a1")
    assert not [f for f in v.frames if f.get("event") == "mail_failed"]
    for c in (v, sara):
        await c.close()
