"""Signing in and out, roles, and the admin pages in real Chromium. Every refusal is also
checked by posting straight to the server, past whatever the page shows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.console_support import (
    PASSWORD,
    add_agent,
    console_server,
    log_in,
    read_store,
    watch,
)
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("admin")) as server:
        yield server


async def csrf_of(page: Page) -> str:
    """The CSRF token of the page's forms (the same as the HttpOnly cookie)."""
    token: str = await page.locator('input[name="csrf_token"]').first.input_value()
    return token


async def post(ctx: BrowserContext, url: str, form: dict[str, str]) -> int:
    response = await ctx.request.post(url, form=form, max_redirects=0)
    return response.status


async def test_login_logout_and_a_wrong_password(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "login@example.com", "Sara", "login")
    problems: list[str] = []
    ctx = await browser.new_context(base_url=live.base_url)
    page = await ctx.new_page()
    watch(page, problems)
    try:
        await page.goto(f"{live.base_url}/agent")
        await expect(page).to_have_url(f"{live.base_url}/login")
        await page.get_by_label("Email").fill("login@example.com")
        await page.get_by_label("Password").fill("not-the-password")
        async with page.expect_response(lambda r: r.request.method == "POST") as answer:
            await page.get_by_role("button", name="Sign in").click()
        assert (await answer.value).status == 401
        await expect(page.get_by_test_id("login-error")).to_have_text("Wrong email or password.")
        await expect(page.get_by_label("Email")).to_have_value("login@example.com")
        assert not any(c["name"] == "cs_session" for c in await ctx.cookies())

        await log_in(page, live.base_url, "login@example.com")
        await expect(page).to_have_url(f"{live.base_url}/agent")
        await expect(page.get_by_test_id("admin-link")).to_have_count(0)
        await page.get_by_test_id("logout").click()
        await expect(page).to_have_url(f"{live.base_url}/login")
        assert not any(c["name"] == "cs_session" for c in await ctx.cookies())
        await page.goto(f"{live.base_url}/agent")
        await expect(page).to_have_url(f"{live.base_url}/login")
        # A login form without its CSRF token is refused.
        assert (
            await post(ctx, "/login", {"email": "login@example.com", "password": PASSWORD}) == 400
        )
        assert problems == []
    finally:
        await ctx.close()


async def test_an_agent_cannot_reach_admin_pages(browser: Browser, live: LiveServer) -> None:
    victim = await add_agent(live, "victim@example.com", "Victim", "roles")
    await add_agent(live, "plain@example.com", "Plain", "roles")
    ctx = await browser.new_context(base_url=live.base_url)
    page = await ctx.new_page()
    try:
        await log_in(page, live.base_url, "plain@example.com")
        token = await csrf_of(page)
        for path in (
            "/admin/agents",
            "/admin/sites",
            "/admin/sites/roles",
            f"/admin/agents/{victim}",
        ):
            response = await page.goto(f"{live.base_url}{path}")
            assert response is not None and response.status == 403, path
            await expect(page.get_by_test_id("forbidden")).to_be_visible()
        # Straight to the server, with a valid CSRF token: still refused, nothing changed.
        attempts = {
            f"/admin/agents/{victim}/deactivate": {},
            f"/admin/agents/{victim}": {"name": "X", "role": "admin", "capacity": "9"},
            "/admin/agents": {"name": "E", "email": "e@example.com", "password": "x" * 12,
                              "site": "roles", "role": "admin", "capacity": "3"},
            "/admin/sites/roles": {"name": "pwned", "allowed_origins": "*"},
            "/admin/sites/roles/canned": {"shortcut": "x", "text": "y"},
        }  # fmt: skip
        for url, form in attempts.items():
            assert await post(ctx, url, {**form, "csrf_token": token}) == 403, url
        account = read_store(live, lambda s: s.get_account(victim))
        assert account["active"] == "1" and account["name"] == "Victim"
        assert read_store(live, lambda s: s.account_id_by_email("e@example.com")) is None
        assert read_store(live, lambda s: s.get_site("roles"))["name"] != "pwned"
    finally:
        await ctx.close()


async def test_a_supervisor_sees_but_cannot_change(browser: Browser, live: LiveServer) -> None:
    await add_agent(live, "super@example.com", "Sam", "sup", role="supervisor")
    ctx = await browser.new_context(base_url=live.base_url)
    page = await ctx.new_page()
    try:
        await log_in(page, live.base_url, "super@example.com")
        await page.get_by_test_id("admin-link").click()
        await expect(page.get_by_test_id("agents-table")).to_contain_text("super@example.com")
        await expect(page.get_by_test_id("read-only")).to_be_visible()
        await expect(page.get_by_test_id("add-agent")).to_have_count(0)
        await page.goto(f"{live.base_url}/admin/sites/sup")
        await expect(page.get_by_test_id("policy-sla_next_response_s")).to_be_disabled()
        await expect(page.get_by_test_id("save-site")).to_have_count(0)
        token = await csrf_of(page)
        status = await post(
            ctx,
            "/admin/sites/sup",
            {"name": "changed", "allowed_origins": "*", "csrf_token": token},
        )
        assert status == 403
        assert read_store(live, lambda s: s.get_site("sup"))["name"] != "changed"
    finally:
        await ctx.close()


async def test_admin_manages_agents_sites_and_canned_responses(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "boss@example.com", "Boss", "adm", role="admin")
    problems: list[str] = []
    admin_ctx = await browser.new_context(base_url=live.base_url)
    agent_ctx = await browser.new_context()
    admin = await admin_ctx.new_page()
    watch(admin, problems)
    try:
        await log_in(admin, live.base_url, "boss@example.com")
        await admin.get_by_test_id("admin-link").click()

        # Add an agent; a second time the email is taken.
        form = admin.get_by_test_id("add-agent")
        await form.get_by_label("Name").fill("Reza")
        await form.get_by_label("Email").fill("reza@example.com")
        await form.get_by_label("Initial password").fill("a-long-password")
        await form.get_by_label("Site").select_option("adm")
        await form.get_by_label("Capacity").fill("4")
        await form.get_by_label("Departments").fill("Billing, Sales")
        await form.get_by_role("button", name="Add agent").click()
        await expect(admin.get_by_test_id("saved")).to_have_text("Agent added.")
        row = admin.locator('[data-testid="agent-row"][data-email="reza@example.com"]')
        await expect(row).to_contain_text("0 / 4")
        await expect(row).to_contain_text("Billing, Sales")

        # Reza works in the console; the admin changes his capacity while he is online.
        agent = await agent_ctx.new_page()
        watch(agent, problems)
        await log_in(agent, live.base_url, "reza@example.com", "a-long-password")
        await expect(agent.get_by_test_id("load")).to_have_text("0 / 4")
        await row.get_by_role("link").click()
        await admin.get_by_label("Capacity").fill("2")
        await admin.get_by_role("button", name="Save").click()
        await expect(admin.get_by_test_id("saved")).to_be_visible()
        await expect(agent.get_by_test_id("load")).to_have_text("0 / 2")

        # Site settings: a Persian greeting, office hours, a response target.
        await admin.goto(f"{live.base_url}/admin/sites/adm")
        site = admin.get_by_test_id("site-form")
        await site.get_by_label("Greeting").fill("سلام! چطور می‌توانیم کمک کنیم؟")
        await site.get_by_label("Allowed origins").fill("https://shop.example.com")
        await site.get_by_label("Time zone").fill("Asia/Tehran")
        await site.get_by_label("Sat").fill("09:00-17:00")
        await site.get_by_label("Sun").fill("9:00-12:00, 13:00-18:00")
        await site.get_by_test_id("policy-sla_next_response_s").fill("90")
        await site.get_by_test_id("save-site").click()
        await expect(admin.get_by_test_id("saved")).to_be_visible()
        await expect(site.get_by_label("Sun")).to_have_value("09:00-12:00, 13:00-18:00")
        saved = read_store(live, lambda s: s.get_site("adm"))
        assert saved["greeting"] == "سلام! چطور می‌توانیم کمک کنیم؟"
        assert saved["sla_next_response_s"] == "90"
        assert '"tz":"Asia/Tehran"' in saved["office_hours"]
        # A bad value is refused with a message, and nothing is stored.
        await site.get_by_label("Mon").fill("nine to five")
        await site.get_by_test_id("save-site").click()
        await expect(admin.get_by_test_id("form-errors")).to_contain_text("Mon")
        await expect(site.get_by_label("Mon")).to_have_value("nine to five")
        assert (
            read_store(live, lambda s: s.get_site("adm"))["office_hours"] == saved["office_hours"]
        )

        # Canned responses.
        await admin.goto(f"{live.base_url}/admin/sites/adm/canned")
        add = admin.get_by_test_id("add-canned")
        await add.get_by_label("Shortcut").fill("/hello")
        await add.get_by_label("Text").fill("Hello! How can I help?")
        await add.get_by_role("button", name="Add").click()
        await expect(admin.get_by_test_id("canned-row")).to_contain_text("/hello")
        assert read_store(live, lambda s: s.canned_responses("adm")) == {
            "hello": "Hello! How can I help?"
        }

        # A form without the CSRF token is refused.
        assert (
            await post(admin_ctx, "/admin/sites/adm/canned", {"shortcut": "x", "text": "y"}) == 403
        )

        # Deactivating Reza signs him out everywhere and closes his console's socket.
        reza_id = read_store(live, lambda s: s.account_id_by_email("reza@example.com"))
        await admin.goto(f"{live.base_url}/admin/agents/{reza_id}")
        await admin.get_by_test_id("deactivate").click()
        await expect(admin.get_by_test_id("inactive")).to_be_visible()
        await expect(agent.get_by_test_id("status-line")).to_contain_text("session has ended")
        await expect(agent.get_by_test_id("agent-status")).to_have_text("Offline")
        await agent.reload()
        await expect(agent).to_have_url(f"{live.base_url}/login")
        await agent.get_by_label("Email").fill("reza@example.com")
        await agent.get_by_label("Password").fill("a-long-password")
        await agent.get_by_role("button", name="Sign in").click()
        await expect(agent.get_by_test_id("login-error")).to_be_visible()
        # Nor can an admin deactivate themselves.
        boss_id = read_store(live, lambda s: s.account_id_by_email("boss@example.com"))
        token = await csrf_of(admin)
        assert (
            await post(admin_ctx, f"/admin/agents/{boss_id}/deactivate", {"csrf_token": token})
            == 400
        )
        await asyncio.sleep(0)
        assert problems == []
    finally:
        await admin_ctx.close()
        await agent_ctx.close()
