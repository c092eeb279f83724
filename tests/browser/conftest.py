"""Browser fixtures: one headless Debian Chromium for the whole session.

The async Playwright API is used on purpose. The sync API marks its own event loop as running
in the main thread between calls, which breaks every pytest-asyncio test that runs after it in
the same session. Async tests here share the session event loop with the browser
(``loop_scope="session"``), so the tests in this directory mark themselves that way.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright, expect

CHROMIUM = os.environ.get("CHATSERVER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

HAVE_CHROMIUM = os.path.exists(CHROMIUM)

# Chats cross a WebSocket, Redis and a second browser context; give each step some slack.
expect.set_options(timeout=10_000)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip(f"no Chromium at {CHROMIUM}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
