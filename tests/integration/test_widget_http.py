"""The widget's HTTP side on a real server: loader, frame, assets, public config, demo page."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime

import pytest

from chatserver.store import Store
from tests import client as cl
from tests.servers import LiveServer


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def config(live: LiveServer, site: str = "demo") -> dict[str, object]:
    status, headers, body = get(f"{live.base_url}/api/widget/config?site={site}")
    assert status == 200 and headers["cache-control"] == "no-store"
    result: dict[str, object] = json.loads(body)
    return result


def test_loader_is_gzipped_cached_briefly_and_revalidated(live_server: LiveServer) -> None:
    status, headers, body = get(f"{live_server.base_url}/widget.js", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert headers["cache-control"] == "public, max-age=300"
    assert b"window.Chatserver" in gzip.decompress(body)
    status, _, body = get(f"{live_server.base_url}/widget.js", **{"If-None-Match": headers["etag"]})
    assert (status, body) == (304, b"")


async def test_frame_carries_the_sites_settings_and_origins(live_server: LiveServer) -> None:
    store = Store.from_url(live_server.redis_url)
    try:
        await store.ensure_site("shop", allowed_origins="https://shop.example")
        await store.update_site("shop", {"name": "Shop", "locale": "fa", "color": "#0f766e"})
    finally:
        await store.close()
    status, headers, body = get(
        f"{live_server.base_url}/widget/frame?site=shop&host=https://shop.example&color=%23123456"
    )
    assert status == 200
    assert "frame-ancestors 'self' https://shop.example" in headers["content-security-policy"]
    html = body.decode()
    assert '<html lang="fa" dir="rtl">' in html  # the site's locale, mirrored
    boot = json.loads(re.search(r'id="cs-boot" type="application/json">(.*?)</script>', html)[1])
    assert boot["host"] == "https://shop.example" and boot["mode"] == "frame"
    assert boot["config"]["color"] == "#123456"  # the page's data-color wins
    assert boot["config"]["position"] == "left"
    assert boot["strings"]["send"] == "ارسال"
    # Assets are named by content: the named version is cached for good, any other is not.
    src = re.search(r'src="(/widget/assets/chat\.js\?v=\w+)"', html)[1]
    _, headers, _ = get(live_server.base_url + src)
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    _, headers, _ = get(f"{live_server.base_url}/widget/assets/chat.js?v=old")
    assert headers["cache-control"] == "no-cache"
    assert get(f"{live_server.base_url}/widget/assets/secret.py")[0] == 404


async def test_available_means_an_agent_online_within_office_hours(
    live_server: LiveServer,
) -> None:
    assert config(live_server)["available"] is False  # nobody online
    live_server.add_agent("sara@example.com", name="Sara")
    agent, _ = await cl.agent(live_server.ws_url, live_server.login("sara@example.com"))
    store = Store.from_url(live_server.redis_url)
    try:
        # Open every day but today: closed now, and the next opening is tomorrow.
        today = datetime.now(UTC).strftime("%a").lower()
        days = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        del days[today]
        hours = json.dumps({"tz": "UTC", "days": days})
        await store.ensure_site("shop")
        await store.update_site("shop", {"office_hours": hours, "departments": "Sales, Support"})
    finally:
        await store.close()
    shop = config(live_server, "shop")
    assert (shop["available"], shop["open"], shop["departments"]) == (
        False,
        False,
        ["Sales", "Support"],
    )
    assert isinstance(shop["next_open"], int)
    assert "allowed_origins" not in shop
    # The demo site has no office hours: open, and Sara is online (presence is read at most
    # every few seconds per site, so the first answer may still be the cached one).
    for _ in range(100):
        demo = config(live_server)
        if demo["agents_online"]:
            break
        await asyncio.sleep(0.1)
    assert (demo["available"], demo["agents_online"]) == (True, 1)
    await agent.close()


@pytest.mark.parametrize("path", ["/api/widget/config?site=nope", "/widget/frame?site=nope"])
def test_unknown_site(live_server: LiveServer, path: str) -> None:
    assert get(live_server.base_url + path)[0] == 404


def test_demo_page_embeds_the_widget_with_one_tag(live_server: LiveServer) -> None:
    status, _, body = get(live_server.base_url + "/")
    assert status == 200
    assert body.count(b"<script") == 1
    assert b'<script src="/widget.js" data-site="demo" async></script>' in body
