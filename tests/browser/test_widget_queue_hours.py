"""A queued visitor whose wait runs past closing time is told when the team is back, in
Persian (issue 24's office hours in the estimate)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from chatserver.store import Store
from tests import client as cl
from tests.browser.widget_helpers import online_agent, open_panel, say, shop

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def closing_soon() -> str:
    """Office hours that end two minutes from now and open again tomorrow at 09:00, in a
    fixed-offset zone where it is about noon now (so neither interval crosses midnight)."""
    utc = time.gmtime()
    offset = (12 - utc.tm_hour + 12) % 24 - 12  # -12..11 hours east of UTC
    local = time.gmtime(time.time() + offset * 3600)
    minute = local.tm_hour * 60 + local.tm_min + 2
    today, tomorrow = DAYS[local.tm_wday], DAYS[(local.tm_wday + 1) % 7]
    # POSIX-style names invert the sign: Etc/GMT-3 is three hours east of UTC.
    zone = "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"
    return json.dumps(
        {
            "tz": zone,
            "days": {
                today: [["00:00", f"{minute // 60:02d}:{minute % 60:02d}"]],
                tomorrow: [["09:00", "17:00"]],
            },
        }
    )


async def test_a_wait_past_closing_shows_when_the_team_is_back(
    browser: Browser, live_server: Any
) -> None:
    store = Store.from_url(live_server.redis_url)
    try:
        await store.update_site("demo", {"office_hours": closing_soon()})
    finally:
        await store.close()
    # Sara's one slot is taken: the widget's visitor queues behind a chat of (by default)
    # five minutes, which runs past closing in two.
    agent = await online_agent(live_server, capacity=1)
    other, _ = await cl.visitor(live_server.ws_url)
    await other.send({"type": "message", "client_id": "o1", "text": "اول من"})
    await agent.expect("assigned")
    async with shop(browser, live_server, page={"attrs": 'data-site="demo" data-locale="fa"'}) as s:
        frame = await open_panel(s.page)
        await say(frame, "کسی هست؟", state="ارسال شد")  # "sent"
        position = frame.get_by_test_id("queue").get_by_test_id("queue-position")
        await expect(position).to_contain_text("پاسخگو هستیم")  # "we're back …"
        await expect(position).not_to_contain_text("دقیقه")  # no minutes count instead
    await other.close()
    await agent.close()
