"""Take the README's screenshots: a real server, a real chat, headless Chromium.

Run: .venv/bin/python docs/screenshots.py
It also prints the widget's weight before its panel opens (the README's figure).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.async_api import async_playwright

from chatserver.embedded_redis import EmbeddedRedis, free_port
from docs.console_screens import console_screens
from docs.dashboard_screens import dashboard_screens
from docs.widget_screens import widget_screens
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.servers import LiveServer

OUT = Path(__file__).resolve().parent / "img"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", port=free_port())
        redis.start()
        live = LiveServer(redis, Path(tmp) / "srv")
        live.start_node()
        try:
            await asyncio.to_thread(live.add_agent, "sara@example.com", "password123", "Sara")
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                agent = await (
                    await browser.new_context(viewport={"width": 1200, "height": 720})
                ).new_page()
                await agent.goto(f"{live.base_url}/login")
                await agent.get_by_label("Email").fill("sara@example.com")
                await agent.get_by_label("Password").fill("password123")
                await agent.get_by_role("button", name="Sign in").click()
                await agent.get_by_test_id("agent-status").wait_for()
                ctx = await browser.new_context(
                    viewport={"width": 400, "height": 720}, locale="fa-IR"
                )
                visitor = await ctx.new_page()
                await visitor.goto(f"{live.base_url}/chat?site=demo")
                for text in ("سلام، سفارشم کجاست؟", "Order #4521, placed on Monday"):
                    await visitor.get_by_test_id("composer").fill(text)
                    await visitor.get_by_test_id("composer").press("Enter")
                await agent.get_by_test_id("conversation").first.click()
                await agent.get_by_test_id("composer").fill(
                    "سلام! It left our warehouse this morning."
                )
                await agent.get_by_test_id("composer").press("Enter")
                await visitor.get_by_text("warehouse").wait_for()
                await asyncio.sleep(0.5)
                await agent.screenshot(path=str(OUT / "agent.png"))
                await console_screens(live, browser, OUT)
                await dashboard_screens(browser, OUT)
                sizes = await widget_screens(live, browser, OUT)
                rows = [f"{n:>7,} B  {path}" for path, n in sorted(sizes.items())]
                rows.append(f"{sum(sizes.values()):>7,} B  widget before the panel opens (gzip)")
                sys.stdout.write("\n".join(rows) + "\n")
                await browser.close()
        finally:
            live.stop()
            redis.kill()


if __name__ == "__main__":
    asyncio.run(main())
