"""The team's alerts by e-mail, against a real SMTP server on loopback: a message left in the
offline form, a missed chat and a chat whose visitor left while waiting for an answer each
send one mail to the site's team address, with a link to the console; the conversation is
marked as waiting for an e-mail reply until an agent writes."""

from __future__ import annotations

import asyncio
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
TEAM = "team@shop.test"
FAST = {"CHATSERVER_PRESENCE_TTL": "3", "CHATSERVER_SWEEP_INTERVAL": "1"}


def set_site(url: str, **fields: Any) -> None:
    r = redis.Redis.from_url(url, decode_responses=True)
    r.hset(
        K.site("demo"),
        mapping={"name": "Shop", "allowed_origins": "*", "team_email": TEAM, **fields},
    )
    r.sadd(K.sites(), "demo")
    r.close()


def conv_hash(url: str, conv_id: str) -> dict[str, str]:
    r = redis.Redis.from_url(url, decode_responses=True)
    try:
        data: dict[str, str] = r.hgetall(K.conversation("demo", conv_id))
        return data
    finally:
        r.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[LiveServer]:
    servers = LiveServer(redis_server, tmp_path / "server")
    yield servers
    servers.stop()


async def start_chat(live: LiveServer, text: str, **hello: Any) -> tuple[cl.Client, str]:
    v, _ = await cl.visitor(live.ws_url, **hello)
    await v.send({"type": "message", "client_id": cl.client_id(), "text": text})
    return v, (await v.expect("ack"))["conversation_id"]


async def mails_for(smtp: SmtpServer, conv_id: str, count: int) -> list[EmailMessage]:
    deadline = time.monotonic() + 45  # a loaded machine: the timers, the sender and SMTP
    while time.monotonic() < deadline:
        got = [m for m in list(smtp.messages) if conv_id in m.get_body(("plain",)).get_content()]
        if len(got) >= count:
            return got
        await asyncio.sleep(0.05)
    raise AssertionError(f"no alert for {conv_id}: {[m['Subject'] for m in smtp.messages]}")


async def test_each_alert_once_and_the_waiting_mark(live: LiveServer, smtp: SmtpServer) -> None:
    set_site(
        live.redis_url,
        queue_timeout_s=1,
        visitor_grace_s=1,
        abandon_after_s=2,
        follow_up_after_s=0,
        keep_place_s=0,  # missed at once (tests/integration/test_keep_place.py keeps it)
    )
    node = live.start_node({**smtp.env(), **FAST, "CHATSERVER_PUBLIC_URL": "https://chat.test"})

    # 1. Offline form: queued past queue_timeout, then the visitor leaves an e-mail.
    offline, offline_id = await start_chat(live, "Is my order 42 shipped?")
    await offline.expect("message", lambda f: f.get("event") == "queue_timeout", timeout=15)
    await offline.send({"type": "identify", "email": "mina@example.com", "name": "Mina"})
    [alert] = await mails_for(smtp, offline_id, 1)
    assert alert["To"] == TEAM and "left a message" in str(alert["Subject"])
    assert alert["Reply-To"] == "mina@example.com"
    body = alert.get_body(("plain",)).get_content()
    assert f"https://chat.test/agent#watch={offline_id}" in body
    assert "Is my order 42 shipped?" in body
    assert alert.get_body(("html",)) is not None
    # Again (another e-mail): still one alert for this conversation and reason.
    await offline.send({"type": "identify", "email": "mina2@example.com"})

    # The mark, in what agents are sent (the queue) and in the REST summary.
    key = live.add_agent("sup@example.com", name="Sue", role="supervisor")
    assert key
    sue, welcome = await cl.agent(live.ws_url, live.login("sup@example.com"), status="away")
    queue = welcome.get("queue") or (await sue.expect("queue"))["items"]
    mine = next(item for item in queue if item["id"] == offline_id)
    assert isinstance(mine["awaiting_email_reply"], int)
    await sue.close()

    # 2. Missed: the visitor leaves before anyone answers.
    missed, missed_id = await start_chat(live, "hello?")
    await missed.close()
    [m] = await mails_for(smtp, missed_id, 1)
    assert "missed" in str(m["Subject"])
    assert "left no e-mail address" in m.get_body(("plain",)).get_content()
    assert conv_hash(live.redis_url, missed_id)["status"] == "missed"
    assert "awaiting_email_reply" not in conv_hash(live.redis_url, missed_id)

    # 3. Abandoned: answered, then the visitor asks again and leaves before the answer.
    live.add_agent("sara@example.com", name="Sara", capacity=3)
    sara, _ = await cl.agent(live.ws_url, live.login("sara@example.com"))
    left, left_id = await start_chat(live, "Hi", email="omid@example.com")
    await sara.expect("assigned", lambda f: f["conversation_id"] == left_id, timeout=15)
    await sara.send(
        {"type": "message", "conversation_id": left_id, "client_id": "s1", "text": "Hi!"}
    )
    await left.expect("message", lambda f: f.get("client_id") == "s1")
    await left.send({"type": "message", "client_id": "v2", "text": "Where is my refund?"})
    await sara.expect("message", lambda f: f.get("client_id") == "v2")
    await left.close()
    await sara.expect("resolved", lambda f: f["conversation_id"] == left_id, timeout=15)
    [a] = await mails_for(smtp, left_id, 1)
    assert "left while waiting" in str(a["Subject"])
    assert conv_hash(live.redis_url, left_id)["awaiting_email_reply"]
    await sara.close()

    # A later positive marker: a test mail queued after everything above has gone out, so
    # no second alert of any conversation is still on its way.
    token_admin = live.add_agent("root@example.com", name="Root", role="admin")
    assert token_admin
    token = live.login("root@example.com")
    from tests.integration.test_mail_queue import queue_test_mail

    queue_test_mail(live, token, "marker@example.com")
    deadline = time.monotonic() + 45  # a loaded machine: the timers, the sender and SMTP
    while not any(str(m["To"]) == "marker@example.com" for m in list(smtp.messages)):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    alerts = [m for m in smtp.messages if str(m["To"]) == TEAM]
    assert len(alerts) == 3, [m["Subject"] for m in alerts]
    # The Outbox lists them; the HTML body only in a sandboxed frame.
    page = http(live.base_url, "/admin/sites/demo/outbox", token=token)
    assert page.body.count("alert.") >= 3
    mail_id = conv_hash(live.redis_url, offline_id)["mail_offline"]
    view = http(live.base_url, f"/admin/sites/demo/outbox/{mail_id}", token=token)
    assert '<iframe class="mail-html" sandbox=""' in view.body
    assert 'srcdoc="&lt;!doctype html&gt;' in view.body
    assert not node.crashes()


async def test_a_persian_team_gets_its_alerts_in_persian(
    live: LiveServer, smtp: SmtpServer
) -> None:
    """The site's team language (admin page, E-mail) is the alerts' language, whatever the
    visitor's: subject, labels and the HTML's direction."""
    set_site(live.redis_url, visitor_grace_s=1, keep_place_s=0, team_language="fa")
    live.start_node({**smtp.env(), **FAST})
    missed, missed_id = await start_chat(live, "hello?", locale="en")
    await missed.close()
    [m] = await mails_for(smtp, missed_id, 1)
    assert str(m["Subject"]) == (
        "[Shop] گفتگویی از دست رفت: بازدیدکننده پیش از پاسخ کسی رفت (یک بازدیدکننده)"
    )
    text = m.get_body(("plain",)).get_content()
    assert "سایت: Shop" in text and "بازدیدکننده: (بی‌نام)" in text
    assert "نشانی ایمیلی نگذاشته است." in text and "hello?" in text
    html = m.get_body(("html",)).get_content()
    assert '<html lang="fa" dir="rtl">' in html
    assert "باز کردن گفتگو در میز کار" in html


async def test_a_closed_chat_waiting_for_a_reply_by_mail_reminds_the_supervisors(
    live: LiveServer, smtp: SmtpServer
) -> None:
    """Follow-up reminders (issue 21) for a chat that ended while its visitor waited for an
    answer (abandoned, the team alerted by mail): the supervisors' consoles get `follow_up`
    escalations, three at most; an agent answers by reopening it and writing."""
    set_site(live.redis_url, visitor_grace_s=1, abandon_after_s=2, follow_up_after_s=1)
    live.start_node({**smtp.env(), **FAST})
    live.add_agent("sup@example.com", name="Sue", role="supervisor")
    sue, _ = await cl.agent(live.ws_url, live.login("sup@example.com"), status="away")
    live.add_agent("sara@example.com", name="Sara", capacity=2)
    sara, _ = await cl.agent(live.ws_url, live.login("sara@example.com"))
    left, conv_id = await start_chat(live, "سلام", email="nima@example.com")
    await sara.expect("assigned", lambda f: f["conversation_id"] == conv_id, timeout=15)
    await sara.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "s1", "text": "بله؟"}
    )
    await left.expect("message", lambda f: f.get("client_id") == "s1")
    await left.send({"type": "message", "client_id": "v2", "text": "سفارشم کجاست؟"})
    await sara.expect("message", lambda f: f.get("client_id") == "v2")
    await left.close()
    await sara.expect("resolved", lambda f: f["conversation_id"] == conv_id, timeout=15)
    [alert] = await mails_for(smtp, conv_id, 1)
    assert "left while waiting" in str(alert["Subject"])
    assert conv_hash(live.redis_url, conv_id)["status"] == "abandoned"
    for _ in range(3):
        frame = await sue.expect(
            "escalation", lambda f: f["conversation_id"] == conv_id, timeout=15
        )
        assert (frame["level"], frame["clock"]) == ("follow_up", "email")
    # Three is the most: no reminder timer is left after the third.
    r = redis.Redis.from_url(live.redis_url, decode_responses=True)
    try:
        assert r.zscore(K.timers("demo"), f"followup|{conv_id}") is None
        assert r.hget(K.conversation("demo", conv_id), "follow_ups") == "3"
    finally:
        r.close()
    # Sara answers: she reopens the chat and writes (the reply goes out by mail).
    await sara.send({"type": "reopen", "conversation_id": conv_id})
    await sara.expect("assigned", lambda f: f["conversation_id"] == conv_id)
    await sara.send(
        {"type": "message", "conversation_id": conv_id, "client_id": "s2", "text": "در راه است"}
    )
    await sara.expect("ack", lambda f: f.get("client_id") == "s2")
    conv = conv_hash(live.redis_url, conv_id)
    assert int(conv["last_agent_msg_at"]) >= int(conv["awaiting_email_reply"])  # answered
    await sara.close()
    await sue.close()
