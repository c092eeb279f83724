"""Labels in a Persian console (Chromium): an admin creates the label «پرداخت» on the site's
Labels page, an agent adds it to a chat from the thread's header by keyboard, its chip shows
in the thread and in the list, the list's label filter shows only that chat, another console
of the agent sees the change live, the dashboard counts it, and removing it works."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

from chatserver.core.labels import Label
from chatserver.store import Store
from tests.browser.console_support import (
    add_agent,
    chat,
    console_server,
    visitor_writes,
    watch,
)
from tests.browser.test_console_persian import FA, log_in_fa
from tests.servers import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SITE = "labels"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with console_server(tmp_path_factory.mktemp("labels")) as server:
        yield server


async def test_a_label_from_the_admin_page_to_the_console(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "admin.lb@example.com", "مدیر", SITE, role="admin")
    await add_agent(live, "sara.lb@example.com", "سارا", SITE, capacity=3)
    store = Store.from_url(live.redis_url)
    try:
        await store.update_site(SITE, {"name": "فروشگاه", "locale": "fa"})
    finally:
        await store.close()
    problems: list[str] = []
    admin_ctx = await browser.new_context(**FA)  # type: ignore[arg-type]
    sara_ctx = await browser.new_context(**FA)  # type: ignore[arg-type]
    admin, sara = await admin_ctx.new_page(), await sara_ctx.new_page()
    watch(admin, problems)
    watch(sara, problems)
    try:
        # The admin: Sites › the site › Labels, a new label in green.
        await log_in_fa(admin, live.base_url, "admin.lb@example.com")
        await admin.goto(f"{live.base_url}/admin/sites/{SITE}")
        await admin.get_by_test_id("labels-link").click()
        await expect(admin.locator("h1")).to_have_text("برچسب‌ها")
        assert await admin.get_attribute("html", "dir") == "rtl"
        form = admin.get_by_test_id("add-label")
        await form.get_by_test_id("new-label-name").fill("پرداخت")
        await form.get_by_test_id("label-color").select_option("green")
        await form.get_by_test_id("new-label-add").click()
        chip = admin.get_by_test_id("label-chip")
        await expect(chip).to_have_text("پرداخت")
        await expect(chip).to_have_class("label-chip label-green")
        # The same name again (or typed on an Arabic keyboard): refused, in Persian.
        await form.get_by_test_id("new-label-name").fill("پرداخت")
        await form.get_by_test_id("new-label-add").click()
        await expect(admin.get_by_test_id("form-errors")).to_contain_text("همین نام")
        await store_label(live, "تحویل", "blue")  # a second one, for the filter

        # The agent, with two chats.
        await log_in_fa(sara, live.base_url, "sara.lb@example.com")
        v1, first = await visitor_writes(live, SITE, "پرداختم انجام نشد", name="علی")
        v2, second = await visitor_writes(live, SITE, "سفارشم کجاست؟", name="مینا")
        await expect(chat(sara, first)).to_be_visible()
        await expect(chat(sara, second)).to_be_visible()
        # Her second console (another tab) sees what the first one does.
        other = await sara_ctx.new_page()
        watch(other, problems)
        await other.goto(f"{live.base_url}/agent")
        await expect(chat(other, first)).to_be_visible()

        await chat(sara, first).click()
        await expect(sara.get_by_test_id("thread-title")).to_have_text("علی")
        add = sara.get_by_test_id("label-add")
        await expect(add).to_have_text("+ برچسب")
        await add.focus()
        await sara.keyboard.press("Enter")
        menu = sara.get_by_test_id("label-menu")
        await expect(menu).to_be_visible()
        options = menu.get_by_test_id("label-option")
        await expect(options).to_have_count(2)
        # By keyboard: the first option has focus (تحویل, by name), down to پرداخت.
        await expect(options.first).to_be_focused()
        await sara.keyboard.press("ArrowDown")
        await expect(options.nth(1)).to_be_focused()
        await expect(options.nth(1)).to_contain_text("پرداخت")
        await sara.keyboard.press("Enter")
        await expect(menu).to_be_hidden()
        thread_chip = sara.get_by_test_id("thread-labels").get_by_test_id("label-chip")
        await expect(thread_chip).to_have_count(1)
        await expect(thread_chip).to_contain_text("پرداخت")
        await expect(thread_chip).to_have_class("label-chip label-green")
        list_chip = chat(sara, first).get_by_test_id("label-chip")
        await expect(list_chip).to_have_text("پرداخت")
        await expect(chat(other, first).get_by_test_id("label-chip")).to_have_text("پرداخت")
        await expect(chat(sara, second).get_by_test_id("label-chip")).to_have_count(0)
        # Right to left: the chips start at the right edge of the header bar.
        bar = await sara.get_by_test_id("label-bar").bounding_box()
        box = await thread_chip.bounding_box()
        assert bar and box and box["x"] + box["width"] > bar["x"] + bar["width"] - 4, (bar, box)

        # The list's filter: only the labelled chat.
        labels = {lab.name: lab.id for lab in await read_labels(live)}
        select = sara.get_by_test_id("label-filter")
        await expect(select.locator("option")).to_have_count(3)
        await expect(select.locator("option").first).to_have_text("همهٔ برچسب‌ها")
        await select.select_option(labels["پرداخت"])
        await expect(chat(sara, second)).to_be_hidden()
        await expect(chat(sara, first)).to_be_visible()
        await select.select_option(labels["تحویل"])
        await expect(chat(sara, first)).to_be_hidden()
        await select.select_option("")
        await expect(chat(sara, second)).to_be_visible()

        # The dashboard: today's conversations by label, in Persian digits.
        await admin.goto(f"{live.base_url}/dashboard")
        report = admin.get_by_test_id("label-report").locator("tr")
        await expect(report).to_have_count(2)
        await expect(report.filter(has_text="پرداخت")).to_contain_text("۱")
        await expect(report.filter(has_text="تحویل")).to_contain_text("۰")

        # Removing it: the chip's × (its name in its accessible label).
        remove = sara.get_by_test_id("thread-labels").get_by_role(
            "button", name="برداشتن برچسب پرداخت"
        )
        await remove.click()
        await expect(thread_chip).to_have_count(0)
        await expect(chat(sara, first).get_by_test_id("label-chip")).to_have_count(0)
        await expect(chat(other, first).get_by_test_id("label-chip")).to_have_count(0)
        conv = await read_conversation(live, first)
        assert conv.get("labels", "") == ""
        assert problems == []
        await v1.close()
        await v2.close()
    finally:
        await admin_ctx.close()
        await sara_ctx.close()


async def store_label(live: LiveServer, name: str, color: str) -> str:
    store = Store.from_url(live.redis_url)
    try:
        return await store.save_label(SITE, "", name, color)
    finally:
        await store.close()


async def read_labels(live: LiveServer) -> list[Label]:
    store = Store.from_url(live.redis_url)
    try:
        return await store.labels(SITE)
    finally:
        await store.close()


async def read_conversation(live: LiveServer, conv_id: str) -> dict[str, str]:
    store = Store.from_url(live.redis_url)
    try:
        return await store.get_conversation(SITE, conv_id) or {}
    finally:
        await store.close()
