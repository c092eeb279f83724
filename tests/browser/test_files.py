"""Files both ways in real Chromium (issue 17's "done when"): a visitor pastes a screenshot
and sends a PDF from the widget, the agent sees and opens both in the console and sends a
file back; everything survives a reload and a network cut."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from playwright.async_api import Browser, Frame, Page, expect

from tests.browser.console_support import add_agent, log_in, watch
from tests.browser.widget_helpers import online_agent, open_panel, panel, say, shop
from tests.integration import files_support as fs

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]
DELIVERED = re.compile("^(sent|read|seen)$")  # read, seen: the other side has read it

PASTE = """async ([data, name, type]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, { type }));
  const composer = document.querySelector('[data-testid="composer"]');
  composer.focus();
  const init = { clipboardData: dt, bubbles: true, cancelable: true };
  composer.dispatchEvent(new ClipboardEvent("paste", init));
}"""


async def paste(target: Frame | Page, data: bytes, name: str, mime: str) -> None:
    await target.evaluate(PASTE, [base64.b64encode(data).decode(), name, mime])


async def loaded(img: Any) -> None:
    """The image has been fetched and decoded (a refused URL never gets a width)."""
    await expect(img).to_have_js_property("complete", True)
    assert await img.evaluate("i => i.naturalWidth") > 0


async def test_files_both_ways_survive_a_reload_and_a_network_cut(
    browser: Browser, live_server: Any
) -> None:
    problems: list[str] = []
    await add_agent(live_server, "sara@example.com", "Sara", "demo")
    console_ctx = await browser.new_context(accept_downloads=True)
    agent = await console_ctx.new_page()
    watch(agent, problems)
    await log_in(agent, live_server.base_url, "sara@example.com")
    async with shop(browser, live_server, problems=problems, accept_downloads=True) as sh:
        frame = await open_panel(sh.page)
        await say(frame, "سلام، بسته‌ام آسیب دیده")
        conv = agent.get_by_test_id("conversation")
        await expect(conv).to_have_count(1)
        await conv.click()

        # The visitor pastes a screenshot and attaches a PDF with a Persian name.
        await paste(frame, fs.png(800, 600), "image.png", "image/png")
        mine = frame.get_by_test_id("message").filter(has=frame.get_by_test_id("file-thumb"))
        await expect(mine.get_by_test_id("message-state")).to_have_text(DELIVERED)
        await frame.get_by_test_id("attach-input").set_input_files(
            {"name": "رسید خرید.pdf", "mimeType": "application/pdf", "buffer": fs.pdf()}
        )
        doc = frame.get_by_test_id("message").filter(has=frame.get_by_test_id("file-link"))
        await expect(doc.get_by_test_id("message-state")).to_have_text(DELIVERED)
        await expect(doc.get_by_test_id("file-name")).to_have_text("رسید خرید.pdf")

        # The agent sees both, opens the image in the viewer and downloads the PDF.
        thumb = agent.get_by_test_id("messages").get_by_test_id("file-thumb")
        await expect(thumb).to_have_count(1)
        await loaded(thumb)
        await agent.get_by_test_id("file-image").click()
        await expect(agent.get_by_test_id("file-viewer")).to_be_visible()
        await loaded(agent.get_by_test_id("file-viewer-image"))
        assert (
            await agent.get_by_test_id("file-viewer-image").evaluate("i => i.naturalWidth") == 800
        )
        await agent.get_by_test_id("file-viewer-close").click()
        link = agent.get_by_test_id("messages").get_by_test_id("file-link")
        await expect(link.get_by_test_id("file-name")).to_have_text("رسید خرید.pdf")
        await expect(link.get_by_test_id("file-meta")).to_contain_text("PDF")
        assert await link.get_by_test_id("file-name").get_attribute("dir") == "auto"
        async with agent.expect_download() as download_info:
            await link.click()
        download = await download_info.value
        assert download.suggested_filename == "رسید خرید.pdf"
        assert (await download.path()).read_bytes() == fs.pdf()

        # The agent sends a file back: the visitor sees it and downloads it.
        await agent.get_by_test_id("attach-input").set_input_files(
            {"name": "invoice.txt", "mimeType": "text/plain", "buffer": "فاکتور ۴۲".encode()}
        )
        sent = (
            agent.get_by_test_id("messages")
            .get_by_test_id("message")
            .filter(has_text="invoice.txt")
        )
        await expect(sent.get_by_test_id("message-state")).to_have_text(DELIVERED)
        theirs = frame.locator(".msg-agent").get_by_test_id("file-link")
        await expect(theirs.get_by_test_id("file-name")).to_have_text("invoice.txt")
        async with sh.page.expect_download() as download_info:
            await theirs.click()
        assert (await (await download_info.value).path()).read_bytes() == "فاکتور ۴۲".encode()

        # A network cut in the middle of sending a file: it goes once the network is back.
        await sh.ctx.set_offline(True)
        await paste(frame, fs.png(320, 200), "image.png", "image/png")
        cut = frame.get_by_test_id("message").filter(has=frame.get_by_test_id("file-thumb"))
        await expect(cut).to_have_count(2)
        await expect(cut.nth(1).get_by_test_id("message-state")).to_have_text(
            "waiting for the network…"
        )
        await sh.ctx.set_offline(False)
        await expect(cut.nth(1).get_by_test_id("message-state")).to_have_text(
            DELIVERED, timeout=30_000
        )
        await expect(agent.get_by_test_id("messages").get_by_test_id("file-thumb")).to_have_count(2)

        # The same for the agent: a file attached while the console is offline goes later.
        await console_ctx.set_offline(True)
        await agent.get_by_test_id("attach-input").set_input_files(
            {"name": "label.pdf", "mimeType": "application/pdf", "buffer": fs.pdf("label")}
        )
        later = (
            agent.get_by_test_id("messages").get_by_test_id("message").filter(has_text="label.pdf")
        )
        await expect(later.get_by_test_id("message-state")).to_have_text("waiting for the network…")
        await console_ctx.set_offline(False)
        await expect(later.get_by_test_id("message-state")).to_have_text(DELIVERED, timeout=30_000)
        await expect(frame.locator(".msg-agent").get_by_test_id("file-link")).to_have_count(2)

        # Reloads: both sides still show every file once, and open them.
        await sh.page.reload()
        frame = await panel(sh.page)  # the widget keeps the panel open across a reload
        await expect(frame.get_by_test_id("panel")).to_be_visible()
        await expect(frame.get_by_test_id("file-thumb")).to_have_count(2)
        await expect(frame.get_by_test_id("file-link")).to_have_count(3)
        await loaded(frame.get_by_test_id("file-thumb").first)
        await frame.get_by_test_id("file-image").first.click()
        await loaded(frame.get_by_test_id("file-viewer-image"))
        await agent.reload()
        await agent.get_by_test_id("conversation").click()
        await expect(agent.get_by_test_id("messages").get_by_test_id("file-thumb")).to_have_count(2)
        await expect(agent.get_by_test_id("messages").get_by_test_id("file-link")).to_have_count(3)
        await loaded(agent.get_by_test_id("messages").get_by_test_id("file-thumb").first)
    await console_ctx.close()
    assert not [p for p in problems if not re.search(r"ERR_INTERNET_DISCONNECTED|net::", p)]


async def test_a_new_visitors_first_message_can_be_a_file_and_bad_files_are_refused(
    browser: Browser, live_server: Any
) -> None:
    agent = await online_agent(live_server)
    async with shop(
        browser, live_server, page={"attrs": 'data-site="demo" data-locale="fa"'}
    ) as sh:
        frame = await open_panel(sh.page)
        await expect(frame.get_by_test_id("attach")).to_have_attribute("aria-label", "پیوست فایل")
        # Nothing written yet: the file opens the chat.
        await frame.get_by_test_id("attach-input").set_input_files(
            {"name": "عکس بسته.png", "mimeType": "image/png", "buffer": fs.png(300, 200)}
        )
        assigned = await agent.expect("assigned")
        first = await agent.expect("message", lambda f: f.get("from") == "visitor")
        assert first["conversation_id"] == assigned["conversation_id"]
        assert first["file"]["name"] == "عکس بسته.png" and first["text"] == ""
        # A page disguised as an image is refused, and the visitor is told why, in Persian.
        await frame.get_by_test_id("attach-input").set_input_files(
            {"name": "photo.png", "mimeType": "image/png", "buffer": fs.HTML_PAGE}
        )
        refused = frame.get_by_test_id("message").last
        await expect(refused.get_by_test_id("message-state")).to_have_text(
            "ارسال نشد: این نوع فایل را نمی‌توان فرستاد"
        )
    await agent.close()
