"""Helpers of the console's browser tests: a server per test module, sign-in, and visitors
driven over the real visitor socket (so the console is tested against the protocol, not
against the widget's markup)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from chatserver.embedded_redis import EmbeddedRedis, free_port
from chatserver.store import Store
from tests import client as cl
from tests.browser.test_chat_e2e import watch  # noqa: F401  (re-exported)
from tests.servers import LiveServer, run_async

PASSWORD = "correct-horse-battery"


@contextlib.contextmanager
def console_server(tmp: Path, env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """One server and Redis for a test module; each test works on its own site."""
    redis = EmbeddedRedis(tmp / "redis", port=free_port())
    redis.start()
    live = LiveServer(redis, tmp / "server")
    live.start_node(env)
    try:
        yield live
    finally:
        live.stop()
        redis.kill()
        shutil.rmtree(tmp / "redis", ignore_errors=True)


def read_store(live: LiveServer, fn: Any) -> Any:
    """``await fn(store)`` on a store of the live server's Redis, from a sync test."""

    async def run() -> Any:
        store = Store.from_url(live.redis_url)
        try:
            return await fn(store)
        finally:
            await store.close()

    return run_async(run())


async def add_agent(live: LiveServer, email: str, name: str, site: str, **kw: Any) -> str:
    agent_id: str = await asyncio.to_thread(live.add_agent, email, PASSWORD, name, site=site, **kw)
    return agent_id


async def log_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    # Agents start Online; supervisors and admins Away, until they choose to take chats.
    await expect(page.get_by_test_id("agent-status")).to_have_text(re.compile("^(Online|Away)$"))


async def visitor_writes(
    live: LiveServer, site: str, text: str, **hello: Any
) -> tuple[cl.Client, str]:
    """A new visitor on ``site`` writes ``text``; returns (its client, conversation id)."""
    v, _ = await cl.visitor(live.ws_url, site=site, **hello)
    await v.send({"type": "message", "client_id": cl.client_id(), "text": text})
    conv_id: str = (await v.expect("ack"))["conversation_id"]
    return v, conv_id


async def visitor_says(v: cl.Client, text: str) -> str:
    cid = cl.client_id()
    await v.send({"type": "message", "client_id": cid, "text": text})
    ack = await v.expect("ack", lambda f: f["client_id"] == cid)
    return str(ack["id"])


def chat(page: Page, conv_id: str) -> Any:
    """The sidebar entry of a conversation."""
    return page.locator(f'[data-testid="conversation"][data-id="{conv_id}"]')
