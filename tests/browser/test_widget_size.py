"""The widget's weight: everything a customer's page downloads before the panel opens."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser

from tests.browser.widget_helpers import HostPages, widget_bytes

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

BUDGET = 20 * 1024  # bytes, gzipped


@pytest.mark.parametrize("locale", ["en", "fa"])
async def test_everything_before_the_panel_opens_is_under_20_kb(
    browser: Browser, live_server: Any, locale: str
) -> None:
    host = HostPages()
    ctx = await browser.new_context()
    try:
        url = host.page(live_server.base_url, attrs=f'data-site="demo" data-locale="{locale}"')
        sizes = await widget_bytes(await ctx.new_page(), url, live_server.base_url)
    finally:
        await ctx.close()
        host.close()
    # The loader, the frame, its scripts and style; no socket until the visitor writes.
    assert sorted(sizes) == [
        "/widget.js",
        "/widget/assets/chat-common.js",
        "/widget/assets/chat-frame.js",
        "/widget/assets/chat-view.js",
        "/widget/assets/chat.css",
        "/widget/assets/chat.js",
        "/widget/frame",
    ]
    assert all(0 < n < 12_000 for n in sizes.values()), sizes  # all of them compressed
    assert sum(sizes.values()) < BUDGET, sizes
