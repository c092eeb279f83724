"""Office hours in what a queued visitor is told (issue 24): a wait that runs past closing
time resumes at the next opening, and the queue frame says when that is. The real app in
this process with an injected clock (Saturday 16:58 in Tehran, closing at 17:00)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chatserver.app import create_app
from chatserver.config import Settings
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.store import Store
from tests import client as cl
from tests.servers import SECRET, in_process_server, password_hash

TEHRAN = ZoneInfo("Asia/Tehran")
HOURS = {"tz": "Asia/Tehran", "days": {"sat": [["09:00", "17:00"]], "sun": [["09:00", "17:00"]]}}


def tehran(day: int, hour: int, minute: int = 0) -> int:
    """Milliseconds of a Tehran wall-clock time in November 2024 (the 23rd is a Saturday)."""
    return int(datetime(2024, 11, day, hour, minute, tzinfo=TEHRAN).timestamp() * 1000)


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


def _login(base: str) -> str:
    req = urllib.request.Request(
        base + "/api/login",
        data=json.dumps({"email": "sara@example.com", "password": "password123"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        token: str = json.loads(resp.read())["token"]
        return token


@pytest.fixture
def shop(redis_server: EmbeddedRedis) -> Iterator[tuple[str, Clock]]:
    clock = Clock(tehran(23, 16, 58))
    settings = Settings(secret_key=SECRET, sweep_interval=3600, metrics_interval=3600)
    with in_process_server(create_app(settings, redis_server.url, clock)) as base:
        yield base, clock


async def test_a_wait_past_closing_is_told_when_the_team_is_back(
    shop: tuple[str, Clock], redis_server: EmbeddedRedis
) -> None:
    base, clock = shop
    ws_url = base.replace("http", "ws", 1)
    store = Store.from_url(redis_server.url)
    try:
        await store.update_site("demo", {"office_hours": json.dumps(HOURS)})
        await store.create_agent(
            "sara@example.com", "Sara", password_hash("password123"), site="demo", capacity=1
        )
    finally:
        await store.close()
    token = await asyncio.to_thread(_login, base)
    agent, _ = await cl.agent(ws_url, token)
    first, _ = await cl.visitor(ws_url)
    await first.send({"type": "message", "client_id": "a1", "text": "سلام"})
    await agent.expect("assigned")  # Sara's one slot is taken
    second, _ = await cl.visitor(ws_url)
    await second.send({"type": "message", "client_id": "b1", "text": "کسی هست؟"})
    frame = await second.expect("queue", lambda f: f.get("position") == 1)
    # Nothing learnt yet: a chat takes the default 300 s, so 120 s of it before 17:00 and
    # 180 s after Sunday's 09:00.
    assert frame["opens_at"] == tehran(24, 9)
    assert frame["estimated_wait"] == (tehran(24, 9) - clock.t) // 1000 + 180
    assert frame["agents_online"] == 1
    for c in (first, second, agent):
        await c.close()
