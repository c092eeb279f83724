"""Two-factor sign-in in Chromium: an agent turns it on from their account page with a code
an authenticator app would show (computed here with pyotp), keeps the recovery codes, signs
out, and signs in again with the password and then a code."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pyotp
import pytest
from playwright.async_api import Browser, expect

from tests.browser.console_support import PASSWORD, log_in, watch

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_turn_on_two_factor_then_sign_in_with_a_code(
    browser: Browser, live_server: Any
) -> None:
    base = live_server.base_url
    await asyncio.to_thread(live_server.add_agent, "nika@example.com", PASSWORD, "نیکا")
    problems: list[str] = []
    ctx = await browser.new_context()
    try:
        page = await ctx.new_page()
        watch(page, problems)
        await log_in(page, base, "nika@example.com")
        await page.get_by_test_id("account-link").click()
        await expect(page.get_by_test_id("two-factor")).to_contain_text("Off")
        await page.get_by_test_id("two-factor-setup").click()
        await expect(page.get_by_test_id("two-factor-qr").locator("svg")).to_be_visible()
        secret = (await page.get_by_test_id("two-factor-secret").inner_text()).replace(" ", "")
        step = int(time.time() // 30)
        await page.get_by_test_id("two-factor-code").fill(pyotp.TOTP(secret).at(step * 30))
        await page.get_by_test_id("two-factor-confirm-submit").click()
        await expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)

        await page.get_by_test_id("logout").click()
        await expect(page.get_by_test_id("login-form")).to_be_visible()
        await page.get_by_label("Email").fill("nika@example.com")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        # The password was right: the second step asks for the code (no session yet).
        await expect(page.get_by_test_id("login-code-form")).to_be_visible()
        assert not [c for c in await ctx.cookies() if c["name"] == "cs_session"]
        await page.get_by_test_id("login-code").fill("000000")
        await page.get_by_test_id("login-code-submit").click()
        await expect(page.get_by_test_id("login-error")).to_be_visible()
        # The code the app shows next (the setup spent this step's): within the drift window.
        await page.get_by_test_id("login-code").fill(pyotp.TOTP(secret).at((step + 1) * 30))
        await page.get_by_test_id("login-code-submit").click()
        await expect(page.get_by_test_id("agent-status")).to_have_text("Online")
        await page.get_by_test_id("account-link").click()
        await expect(page.get_by_test_id("two-factor-on")).to_contain_text("10 recovery codes")
        await expect(page.get_by_test_id("session")).to_have_count(1)
    finally:
        await ctx.close()
    assert not problems, problems
