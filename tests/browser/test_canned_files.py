"""A canned response with a file, in real Chromium: an admin attaches a PDF on the admin page,
an agent types /shortcut, picks it (a paperclip and the file's name in the picker), sends it,
and the visitor's widget shows the file with the text and downloads it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.console_support import add_agent, log_in, watch
from tests.browser.widget_helpers import open_panel, say, shop
from tests.integration import files_support as fs

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]
DELIVERED = re.compile("^(sent|read|seen)$")  # seen: the visitor has read it
NAME = "فهرست قیمت.pdf"
TEXT = "فهرست قیمت‌ها پیوست است."


async def test_an_agent_sends_a_canned_response_with_its_file(
    browser: Browser, live_server: Any
) -> None:
    problems: list[str] = []
    base = live_server.base_url
    await add_agent(live_server, "root@example.com", "Root", "demo", role="admin")
    await add_agent(live_server, "sara@example.com", "Sara", "demo")

    # The admin attaches the price list to a new canned response.
    admin_ctx = await browser.new_context()
    admin = await admin_ctx.new_page()
    watch(admin, problems)
    await log_in(admin, base, "root@example.com")
    await admin.goto(f"{base}/admin/sites/demo/canned")
    add = admin.get_by_test_id("add-canned")
    await add.get_by_label("Shortcut").fill("prices")
    await add.get_by_label("Text").fill(TEXT)
    await admin.get_by_test_id("add-canned-file").set_input_files(
        {"name": NAME, "mimeType": "application/pdf", "buffer": fs.pdf()}
    )
    await add.get_by_role("button", name="Add").click()
    row = admin.get_by_test_id("canned-row").filter(has_text="/prices")
    await expect(row.get_by_test_id("canned-file-name")).to_have_text(NAME)
    assert await row.get_by_test_id("canned-file-name").get_attribute("dir") == "auto"
    await expect(row.get_by_test_id("canned-file-meta")).to_contain_text("application/pdf")
    # Replaced from the row (its file field belongs to the row's form), then the PDF again.
    for name, data in (("draft.txt", b"draft prices"), (NAME, fs.pdf())):
        await row.get_by_test_id("canned-file-input").set_input_files(
            {"name": name, "mimeType": "application/octet-stream", "buffer": data}
        )
        await row.get_by_role("button", name="Save").click()
        await expect(row.get_by_test_id("canned-file-name")).to_have_text(name)
    await expect(row.get_by_test_id("canned-file-meta")).to_contain_text("application/pdf")
    await admin_ctx.close()

    console_ctx = await browser.new_context()
    agent = await console_ctx.new_page()
    watch(agent, problems)
    await log_in(agent, base, "sara@example.com")
    async with shop(browser, live_server, problems=problems, accept_downloads=True) as sh:
        frame = await open_panel(sh.page)
        await say(frame, "قیمت‌ها را دارید؟")
        await agent.get_by_test_id("conversation").click()

        # The picker shows the entry's file; picking it attaches the file to the reply.
        composer = agent.get_by_test_id("composer")
        await composer.press_sequentially("/pri")
        option = agent.get_by_test_id("canned-option")
        await expect(option).to_have_count(1)
        await expect(option.get_by_test_id("canned-option-file")).to_have_text(NAME)
        await expect(option.get_by_test_id("canned-option-file").locator("svg")).to_have_count(1)
        await composer.press("Enter")
        await expect(composer).to_have_value(TEXT)
        attachment = agent.get_by_test_id("canned-attachment")
        await expect(attachment.get_by_test_id("canned-attachment-name")).to_have_text(NAME)
        await composer.press("Enter")
        await expect(attachment).to_be_hidden()
        sent = agent.get_by_test_id("messages").get_by_test_id("message").filter(has_text=TEXT)
        await expect(sent.get_by_test_id("message-state")).to_have_text(DELIVERED)
        await expect(sent.get_by_test_id("file-name")).to_have_text(NAME)

        # The visitor gets the text and the file, and downloads it.
        reply = frame.locator(".msg-agent").filter(has_text=TEXT)
        link = reply.get_by_test_id("file-link")
        await expect(link.get_by_test_id("file-name")).to_have_text(NAME)
        async with sh.page.expect_download() as download_info:
            await link.click()
        download = await download_info.value
        assert download.suggested_filename == NAME
        assert (await download.path()).read_bytes() == fs.pdf()

        # The attachment goes with one reply only; the remove control drops it before that.
        await composer.press_sequentially("/pri")
        await composer.press("Enter")
        await expect(attachment).to_be_visible()
        await attachment.get_by_test_id("canned-attachment-remove").click()
        await expect(attachment).to_be_hidden()
        await composer.press("Enter")
        await expect(frame.locator(".msg-agent").filter(has_text=TEXT)).to_have_count(2)
        await expect(frame.locator(".msg-agent").get_by_test_id("file-link")).to_have_count(1)
    await console_ctx.close()
    assert problems == []
