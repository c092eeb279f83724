"""The outgoing mail queue against a real SMTP server on loopback (tests/smtp_server.py):
an outage loses and doubles nothing, a node SIGKILLed in the middle of a send hands the mail
to another node when its lease runs out, and the Outbox page shows every mail."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatserver.embedded_redis import EmbeddedRedis
from chatserver.store import Store
from tests.integration.security_support import csrf, http
from tests.servers import LiveServer, run_async
from tests.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.release()
    server.stop()


@pytest.fixture
def live(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[LiveServer]:
    """Servers started by each test itself, with the mail settings it needs."""
    servers = LiveServer(redis_server, tmp_path / "server")
    yield servers
    servers.stop()


def admin_token(live: LiveServer) -> str:
    live.add_agent("root@example.com", name="Root", role="admin")
    return live.login("root@example.com")


def queue_test_mail(live: LiveServer, token: str, to: str, base: str | None = None) -> None:
    url = base or live.base_url
    cookie = csrf(url, token, "/admin/sites/demo/outbox")
    reply = http(
        url,
        "/admin/sites/demo/outbox/test",
        {"to": to, "csrf_token": cookie["cs_csrf"]},
        token=token,
        cookies=cookie,
    )
    assert reply.status in (200, 303), reply.body[:500]


def mails(live: LiveServer) -> list[dict[str, str]]:
    async def read() -> list[dict[str, str]]:
        store = Store.from_url(live.redis_url)
        try:
            return await store.mail_log("demo")
        finally:
            await store.close()

    result: list[dict[str, str]] = run_async(read())
    return result


def wait_mails(live: LiveServer, ok: Any, timeout: float = 20.0) -> list[dict[str, str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = mails(live)
        if ok(found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"mail never got there: {mails(live)}")


def test_outage_loses_and_doubles_nothing(live: LiveServer, smtp: SmtpServer) -> None:
    live.start_node(smtp.env())  # the SMTP server is not up yet: its port refuses
    live.start_node(smtp.env())  # two senders racing for the same mail
    token = admin_token(live)
    for i in range(4):
        queue_test_mail(live, token, f"person{i}@example.com", live.nodes[i % 2].base_url)
    failing = wait_mails(live, lambda ms: len(ms) == 4 and all(m.get("last_error") for m in ms))
    assert all(m["status"] in ("retrying", "sending") for m in failing)
    smtp.start()
    smtp.wait_for(4)
    done = wait_mails(live, lambda ms: all(m["status"] == "sent" for m in ms))
    # Every mail is acknowledged: none can go out again, so the counts are final.
    counts = smtp.by_message_id()
    assert sorted(counts) == sorted(m["message_id"] for m in done)
    assert set(counts.values()) == {1}, counts
    assert all(int(m["attempts"]) >= 2 for m in done)
    assert {str(m["To"]) for m in smtp.messages} == {f"person{i}@example.com" for i in range(4)}
    for node in live.nodes:
        assert not node.crashes()


def test_node_killed_mid_send_hands_the_mail_on(live: LiveServer, smtp: SmtpServer) -> None:
    env = {**smtp.env(), "CHATSERVER_MAIL_LEASE_S": "4", "CHATSERVER_SMTP_TIMEOUT_S": "3"}
    smtp.start()
    smtp.hold()
    first = live.start_node(env)
    token = admin_token(live)
    queue_test_mail(live, token, "kill@example.com")
    assert smtp.held.wait(15), "the first node never started sending"
    claimed = mails(live)[0]
    assert claimed["status"] == "sending" and claimed["attempts"] == "1"
    first.kill()
    smtp.release()
    live.start_node(env)
    got = smtp.wait_for(1)
    done = wait_mails(live, lambda ms: ms[0]["status"] == "sent")[0]
    assert [str(m["Message-ID"]) for m in got] == [done["message_id"]]
    assert done["attempts"] == "2"  # the dead node's try, then the second node's
    assert smtp.by_message_id() == {done["message_id"]: 1}


def test_a_refused_mail_fails_and_shows_why(live: LiveServer, smtp: SmtpServer) -> None:
    smtp.start()
    live.start_node(smtp.env())
    token = admin_token(live)
    queue_test_mail(live, token, "bounce@example.com")
    queue_test_mail(live, token, "fine@example.com")
    done = wait_mails(
        live,
        lambda ms: (
            len(ms) == 2 and all(m["status"] != "queued" and m["status"] != "sending" for m in ms)
        ),
    )
    by_to = {m["to"]: m for m in done}
    assert by_to["bounce@example.com"]["status"] == "failed"
    assert by_to["bounce@example.com"]["attempts"] == "1"  # a 5xx is not retried
    assert "550" in by_to["bounce@example.com"]["last_error"]
    assert by_to["fine@example.com"]["status"] == "sent"
    page = http(live.base_url, "/admin/sites/demo/outbox", token=token)
    assert 'data-status="failed"' in page.body and "no such user here" in page.body


def test_outbox_page_lists_local_mail(live: LiveServer) -> None:
    live.start_node()  # no SMTP host: the local outbox
    token = admin_token(live)
    queue_test_mail(live, token, "newcomer@example.com")
    mail = wait_mails(live, lambda ms: bool(ms) and ms[0]["status"] == "outbox")[0]
    page = http(live.base_url, "/admin/sites/demo/outbox", token=token)
    assert page.status == 200
    assert "newcomer@example.com" in page.body and 'data-status="outbox"' in page.body
    assert "No SMTP server is configured" in page.body
    view = http(live.base_url, f"/admin/sites/demo/outbox/{mail['id']}", token=token)
    assert view.status == 200 and "the server&#39;s mail settings work" in view.body
    # The nav's link leads to the default site's outbox.
    assert http(live.base_url, "/admin/outbox", token=token).status in (200, 303)
