"""The supervisors' dashboard screenshots for the README and docs/metrics.md.

A busy morning replayed through the real store with an injected clock (the same way the
scripted-day test does), then the real server in this process on that clock, in Chromium:
docs/img/dashboard.png (the whole page), docs/img/dashboard-unresolved.png (the unresolved
chats, each a link to watch it live in the console) and docs/img/dashboard-search.png (a
search and a transcript). Run alone: .venv/bin/python docs/dashboard_screens.py
(docs/screenshots.py calls it too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.async_api import Browser, async_playwright

from chatserver.app import create_app
from chatserver.config import Settings
from chatserver.core.policy import SitePolicy
from chatserver.dashboards import Dashboards
from chatserver.embedded_redis import EmbeddedRedis, free_port
from chatserver.messages import Outgoing
from chatserver.store import Store, StoreError
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.servers import SECRET, in_process_server, password_hash

OUT = Path(__file__).resolve().parent / "img"
SITE = "shop"
TZ = ZoneInfo("Asia/Tehran")
START = int(datetime(2024, 3, 5, 8, 55, tzinfo=TZ).timestamp() * 1000)
NOW = int(datetime(2024, 3, 5, 14, 0, tzinfo=TZ).timestamp() * 1000)
SETTINGS = {
    "name": "Shop",
    "departments": "Sales,Billing",
    "office_hours": json.dumps({"tz": "Asia/Tehran", "days": {"tue": [["08:00", "20:00"]]}}),
    "sla_first_response_s": "60",
    "sla_next_response_s": "120",
    "assign_timeout_s": "0",
    "nudge_after_s": "0",
    "queue_timeout_s": "0",
}
AGENTS = {"Lena": "Sales", "Reza": "Billing", "Sara": "", "Omid": ""}
ASKS = [
    "Where is my order 4521?",
    "I want a refund for a broken kettle",
    "سلام، سفارشم کجاست؟",
    "Can I change the delivery address?",
    "My invoice shows the wrong VAT number",
    "Do you ship to Isfahan?",
]


class Clock:
    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> int:
        return self.t


async def replay(store: Store, clock: Clock) -> None:
    """Seed a morning: about 50 chats, their waits, replies, endings, ratings and samples."""
    rng = random.Random(7)
    policy = SitePolicy.from_settings(SETTINGS)
    await store.update_site(SITE, SETTINGS)
    ids = {}
    for name, dept in [*AGENTS.items(), ("Mina", "")]:
        ids[name] = await store.create_agent(
            f"{name.lower()}@example.com",
            name,
            password_hash("password123"),
            site=SITE,
            role="supervisor" if name == "Mina" else "agent",
            capacity=0 if name == "Mina" else 4,
            departments=[dept] if dept else [],
        )
    events: list[tuple[int, int, Callable[[], Awaitable[object]]]] = []
    seq = iter(range(1_000_000))

    def at(t: int, step: Callable[[], Awaitable[object]]) -> None:
        events.append((t, next(seq), step))

    def status(name: str, value: str, t: int) -> None:
        dept = AGENTS.get(name, "")
        at(t, lambda: store.set_agent_status(
            SITE, ids[name], name, 4, value, 3600, [dept] if dept else [], now=t))  # fmt: skip

    for name in AGENTS:
        status(name, "online", START + rng.randint(0, 240) * 1000)
    status("Omid", "away", START + 3 * 3_600_000)
    status("Omid", "online", START + 3 * 3_600_000 + 25 * 60_000)
    dash = Dashboards(store, Settings(), clock)
    for t in range(START, NOW + 1, 5 * 60_000):
        at(t, lambda t=t: dash.sample(SITE, t))
    t = START + 6 * 60_000
    n = 0
    while t < NOW - 60_000:
        n += 1
        plan_chat(at, store, policy, ids, rng, n, t, queued_at_end=t > NOW - 5 * 60_000)
        t += rng.randint(2, 11) * 60_000
    # The end of the morning: one chat answered late, one about to be, three visitors queued.
    for k, (ago, who) in enumerate([(150, "Reza"), (52, "Sara"), (240, ""), (100, ""), (25, "")]):
        plan_now(at, store, policy, ids, 900 + k, NOW - ago * 1000, who)
    events.sort(key=lambda e: (e[0], e[1]))
    for when, _, step in events:
        clock.t = when
        # A step the story made impossible (the chat ended first) is skipped.
        with contextlib.suppress(StoreError):
            await step()
    clock.t = NOW


def plan_chat(
    at: Callable[[int, Callable[[], Awaitable[object]]], None],
    store: Store,
    policy: SitePolicy,
    ids: dict[str, str],
    rng: random.Random,
    n: int,
    t: int,
    queued_at_end: bool,
) -> None:
    dept = rng.choice(["", "Sales", "Billing"])
    visitor, conv = f"v_screen{n}", {"id": "", "agent": "", "name": ""}
    names = {aid: name for name, aid in ids.items()}
    serving = [ids[a] for a, d in AGENTS.items() if d in ("", dept)]
    rng.shuffle(serving)

    async def opens() -> None:
        _, conv["id"] = await store.open_conversation(
            SITE, visitor, t, dept, visitor_name=f"Visitor {n}", policy=policy
        )
        text = rng.choice(ASKS)
        await store.send_message(
            Outgoing(SITE, conv["id"], "visitor", visitor, "", f"{n}-1", text, t), policy
        )

    async def claims(when: int) -> None:
        conv["agent"] = await store.claim(SITE, conv["id"], serving, when, policy=policy)
        conv["name"] = names[conv["agent"]]

    async def replies(when: int) -> None:
        await store.send_message(
            Outgoing(SITE, conv["id"], "agent", conv["agent"], conv["name"], f"{n}-2",
                     "Let me check that for you.", when), policy,
        )  # fmt: skip

    async def resolves(when: int) -> None:
        await store.resolve(SITE, conv["id"], "agent", conv["agent"], conv["name"], when)

    at(t, opens)
    if queued_at_end:
        return
    wait = rng.choice([4, 8, 12, 20, 35, 60, 95]) * 1000
    frt = wait + rng.choice([10, 15, 20, 25, 30, 40, 45, 70]) * 1000
    if rng.random() < 0.08:  # the visitor leaves before anyone answers
        at(t + 60_000, lambda: fire(store, policy, "frt", conv, t + 60_000))
        at(t + 150_000, lambda: fire(store, policy, "vgone", conv, t + 150_000, True))
        return
    at(t + wait, lambda: claims(t + wait))
    if frt > 60_000:
        at(t + 60_000, lambda: fire(store, policy, "frt", conv, t + 60_000))
    reply = t + frt
    end = reply + rng.randint(3, 14) * 60_000
    if end > NOW:
        return
    at(reply, lambda: replies(reply))
    at(end, lambda: resolves(end))
    if rng.random() < 0.6:
        score = rng.choice([5, 5, 5, 4, 4, 3, 2])
        at(end + 30_000, lambda: store.rate(SITE, conv["id"], visitor, "", score, "", end + 30_000))


def plan_now(
    at: Callable[[int, Callable[[], Awaitable[object]]], None],
    store: Store,
    policy: SitePolicy,
    ids: dict[str, str],
    n: int,
    t: int,
    who: str,
) -> None:
    """A chat still open at the end: queued, or claimed by ``who`` and not answered yet."""
    visitor, conv = f"v_screen{n}", {"id": ""}
    dept = AGENTS.get(who, "")

    async def opens() -> None:
        _, conv["id"] = await store.open_conversation(
            SITE, visitor, t, dept, visitor_name=f"Visitor {n - 850}", policy=policy
        )
        text = ASKS[n % len(ASKS)]
        await store.send_message(
            Outgoing(SITE, conv["id"], "visitor", visitor, "", f"{n}-1", text, t), policy
        )

    at(t, opens)
    if who:
        at(t + 5000, lambda: store.claim(SITE, conv["id"], [ids[who]], t + 5000, policy=policy))
        if NOW - t >= 60_000:
            at(t + 60_000, lambda: fire(store, policy, "frt", conv, t + 60_000))


async def fire(
    store: Store, policy: SitePolicy, kind: str, conv: dict[str, str], t: int, sched: bool = False
) -> None:
    member = f"{kind}|{conv['id']}"
    if sched:
        await store.schedule_timer(SITE, member, t)
    await store.fire_timer(SITE, member, t, policy)


async def dashboard_screens(browser: Browser, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        redis = EmbeddedRedis(Path(tmp) / "redis", port=free_port())
        redis.start()
        try:
            clock = Clock()
            store = Store.from_url(redis.url)
            try:
                await store.scripts.load_all()
                await replay(store, clock)
            finally:
                await store.close()
            settings = Settings(secret_key=SECRET, timer_interval=60, metrics_interval=3600)
            with in_process_server(create_app(settings, redis.url, clock)) as base:
                await shoot(browser, base, out)
        finally:
            redis.kill()


async def shoot(browser: Browser, base: str, out: Path) -> None:
    ctx = await browser.new_context(
        viewport={"width": 1360, "height": 900}, timezone_id="Asia/Tehran"
    )
    page = await ctx.new_page()
    # Signed in without opening the workspace, which would make Mina an agent online.
    login = await page.request.post(
        f"{base}/api/login", data={"email": "mina@example.com", "password": "password123"}
    )
    token = (await login.json())["token"]
    await ctx.add_cookies([{"name": "cs_session", "value": token, "url": base}])
    await page.goto(f"{base}/dashboard")
    await page.get_by_test_id("live").get_by_text("Live").wait_for()
    await asyncio.sleep(0.3)
    await page.screenshot(path=str(out / "dashboard.png"), full_page=True)
    unresolved = page.locator("section.card", has=page.get_by_test_id("unresolved"))
    await unresolved.get_by_test_id("watch-link").first.hover()
    await unresolved.screenshot(path=str(out / "dashboard-unresolved.png"))
    await page.mouse.move(0, 0)
    await page.locator('[name="agent"]').fill("omid")
    await page.locator('[name="text"]').fill("refund")
    await page.get_by_test_id("search").click()
    await page.get_by_test_id("search-result").first.click()
    await page.get_by_test_id("transcript-messages").locator("li").first.wait_for()
    card = page.locator("section.card", has=page.get_by_test_id("search-form"))
    await card.scroll_into_view_if_needed()
    await card.screenshot(path=str(out / "dashboard-search.png"))
    await ctx.close()


async def main() -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            await dashboard_screens(browser, OUT)
        finally:
            await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
