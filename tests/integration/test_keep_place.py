"""Keep my place (issue 24), against a real SMTP server on loopback: a queued visitor who
closes the page keeps their place past the visitor grace; when an agent takes the chat, a
visitor who left an e-mail (or whom the site signed in) gets one "an agent is ready" mail in
their language with a link to their page, a visitor with a tab still open gets `assigned`
there and no mail, and one who comes back finds the agent in `welcome`; without an agent the
kept place ends as before (missed, or still queued for a visitor who left an e-mail)."""

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
from chatserver.store import Store
from tests import client as cl
from tests.integration.test_identity import signed
from tests.integration.test_mail_queue import queue_test_mail
from tests.servers import LiveServer
from tests.smtp_server import SmtpServer

K = Keys()
FAST = {"CHATSERVER_PRESENCE_TTL": "3", "CHATSERVER_SWEEP_INTERVAL": "1"}
GRACE_S, KEEP_S = 1, 5
PAGE = "https://shop.test/cart?step=2"


def set_site(url: str, **fields: Any) -> None:
    r = redis.Redis.from_url(url, decode_responses=True)
    r.hset(
        K.site("demo"),
        mapping={
            "name": "Shop",
            "allowed_origins": "*",
            "visitor_grace_s": GRACE_S,
            "keep_place_s": KEEP_S,
            "queue_timeout_s": 0,  # no offline offer: only this feature's mail
            "assign_timeout_s": 0,
            **fields,
        },
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


def stream_events(url: str, conv_id: str) -> list[str]:
    r = redis.Redis.from_url(url, decode_responses=True)
    try:
        return [f.get("e", "") for _, f in r.xrange(K.messages("demo", conv_id))]
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


async def until(check: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def mails_to(smtp: SmtpServer, to: str) -> list[EmailMessage]:
    return [m for m in list(smtp.messages) if str(m["To"]) == to]


async def marker_mail(live: LiveServer, smtp: SmtpServer) -> None:
    """A test mail queued now and received: every mail queued before it has gone out."""
    live.add_agent("root@example.com", name="Root", role="admin")
    queue_test_mail(live, live.login("root@example.com"), "marker@example.com")
    await until(lambda: mails_to(smtp, "marker@example.com"), "the marker mail")


async def test_an_agent_ready_mail_for_a_kept_place(live: LiveServer, smtp: SmtpServer) -> None:
    set_site(live.redis_url)
    node = live.start_node({**smtp.env(), **FAST})
    store = Store.from_url(live.redis_url)
    secret, _ = await store.ensure_identity_secret("demo", int(time.time() * 1000))
    await store.close()
    # Four queued visitors (no agent yet): one left an e-mail (Persian), one did not, one is
    # a user the site signed in (their e-mail the signed one), one keeps a second tab open.
    mina, mina_id = await start_chat(
        live, "سلام", email="mina@example.com", locale="fa-IR", page={"url": PAGE}
    )
    omid, omid_id = await start_chat(live, "hello?")
    ali, ali_id = await start_chat(live, "hi there", **signed(secret))
    lale, lale_id = await start_chat(live, "hi", email="lale@example.com")
    lale2, _ = await cl.visitor(live.ws_url, token=lale.token)
    left_at = time.monotonic()
    for v in (mina, omid, ali, lale):
        await v.close()

    # Past the grace: those who left keep their place (the positive marker: its system
    # message), still queued, not missed; the one with a tab open is simply there.
    for conv_id in (mina_id, omid_id, ali_id):
        await until(lambda c=conv_id: "place_kept" in stream_events(live.redis_url, c), "kept")
        assert conv_hash(live.redis_url, conv_id)["status"] == "queued"
    assert time.monotonic() - left_at >= GRACE_S
    assert "place_kept" not in stream_events(live.redis_url, lale_id)

    # An agent comes online and takes all three.
    live.add_agent("sara@example.com", name="Sara", capacity=4)
    sara, _ = await cl.agent(live.ws_url, live.login("sara@example.com"))
    for conv_id in (mina_id, omid_id, ali_id, lale_id):
        await sara.expect("assigned", lambda f, c=conv_id: f["conversation_id"] == c, timeout=15)
    # The open tab is told at once.
    told = await lale2.expect("assigned", lambda f: f["conversation_id"] == lale_id)
    assert told["agent"]["name"] == "Sara"

    # Mina, away with an e-mail: one mail, in Persian, right to left, linking to her page.
    await until(lambda: mails_to(smtp, "mina@example.com"), "the agent-ready mail")
    [mail] = mails_to(smtp, "mina@example.com")
    assert "آماده" in str(mail["Subject"]) and "Shop" in str(mail["Subject"])
    assert PAGE in mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",))
    assert html is not None
    body = html.get_content()
    assert 'dir="rtl"' in body and 'href="https://shop.test/cart?step=2"' in body
    # The signed-in user, at their signed address, in English.
    await until(lambda: mails_to(smtp, "ali@example.com"), "the verified user's mail")
    assert "is ready for you" in str(mails_to(smtp, "ali@example.com")[0]["Subject"])

    # Omid comes back: his tab gets the state in `welcome`.
    back, welcome = await cl.visitor(live.ws_url, token=omid.token)
    assert welcome["conversation"]["id"] == omid_id
    assert welcome["conversation"]["status"] == "assigned"
    assert welcome["conversation"]["agent"]["name"] == "Sara"

    # Mina stays away: the kept time after the assignment runs out and the chat is missed,
    # as an assigned chat nobody answered (its mail step runs again on the way: still once).
    ended = await sara.expect("resolved", lambda f: f["conversation_id"] == mina_id, timeout=20)
    assert ended["status"] == "missed"
    await marker_mail(live, smtp)
    assert len(mails_to(smtp, "mina@example.com")) == 1
    assert len(mails_to(smtp, "ali@example.com")) == 1
    assert mails_to(smtp, "lale@example.com") == []  # her tab was open
    ready = [f for f in conv_hash(live.redis_url, omid_id) if f.startswith("mail_ready")]
    assert ready == []  # no address: no mail
    assert conv_hash(live.redis_url, omid_id)["status"] == "assigned"
    await back.close()
    await lale2.close()
    await sara.close()
    assert not node.crashes()


async def test_without_an_agent_the_kept_place_ends_as_before(
    live: LiveServer, smtp: SmtpServer
) -> None:
    set_site(live.redis_url)
    node = live.start_node({**smtp.env(), **FAST})
    nima, nima_id = await start_chat(live, "anyone?")
    sima, sima_id = await start_chat(live, "hello", email="sima@example.com")
    left_at = time.monotonic()
    await nima.close()
    await sima.close()
    for conv_id in (nima_id, sima_id):
        await until(lambda c=conv_id: "place_kept" in stream_events(live.redis_url, c), "kept")
    # The kept time over: missed without an e-mail, after the kept time and not before.
    await until(lambda: conv_hash(live.redis_url, nima_id)["status"] == "missed", "missed")
    assert time.monotonic() - left_at >= KEEP_S - 0.5
    # With one, still queued, waiting for a reply by mail (today's rule); no agent, no mail.
    assert conv_hash(live.redis_url, sima_id)["status"] == "queued"
    await marker_mail(live, smtp)
    assert mails_to(smtp, "sima@example.com") == []
    assert not node.crashes()
