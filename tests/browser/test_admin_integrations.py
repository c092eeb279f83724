"""A site's REST API keys and webhook endpoints in the admin pages, in real Chromium: an
admin creates a key (shown once), uses it and revokes it; adds an endpoint pointed at a real
HTTP receiver on loopback, which gets a visitor's message signed; replays; removes it.
Supervisors see the lists and no form, agents get 403, and every refusal is also tried by
posting straight to the server."""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from chatserver.embedded_redis import EmbeddedRedis, free_port
from chatserver.store import Store
from tests.browser.console_support import add_agent, log_in, read_store, visitor_writes, watch
from tests.servers import LiveServer
from tests.webhook_receiver import Receiver, until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Quick retries, and a dead letter after a second of failures (the default is a day).
FAST = {
    "CHATSERVER_WEBHOOK_LEASE_S": "2",
    "CHATSERVER_WEBHOOK_RETRY_BASE_MS": "50",
    "CHATSERVER_WEBHOOK_TIMEOUT_S": "1",
    "CHATSERVER_WEBHOOK_GIVE_UP_S": "1",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("integrations")
    redis = EmbeddedRedis(tmp / "redis", port=free_port())
    redis.start()
    server = LiveServer(redis, tmp / "server")
    try:
        server.start_node(FAST)
        yield server
    finally:
        server.stop()
        redis.kill()
        shutil.rmtree(tmp / "redis", ignore_errors=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


async def reload_until(
    page: Page, test_id: str, ok: Callable[[str], bool], timeout: float = 20.0
) -> str:
    """Reload the page until the text of ``test_id`` passes ``ok`` (the admin pages are
    plain HTML: they show what is stored when they are loaded)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        text = await page.get_by_test_id(test_id).first.inner_text()
        if ok(text):
            return text
        assert asyncio.get_running_loop().time() < deadline, f"{test_id}: {text!r}"
        await asyncio.sleep(0.2)
        await page.reload()


def api_status(base_url: str, key: str, path: str = "/api/v1/agents") -> int:
    req = urllib.request.Request(base_url + path, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            json.loads(resp.read())
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


async def csrf_of(page: Page) -> str:
    token: str = await page.locator('input[name="csrf_token"]').first.input_value()
    return token


async def post(ctx: BrowserContext, url: str, form: dict[str, str], **headers: str) -> int:
    response = await ctx.request.post(url, form=form, headers=headers, max_redirects=0)
    return response.status


def csp_watch(page: Page, problems: list[str]) -> None:
    """Also collect Content-Security-Policy violations (the pages may have nothing inline)."""
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )


async def test_admin_creates_uses_and_revokes_an_api_key(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "keys@example.com", "Keys", "keys", role="admin")
    problems: list[str] = []
    ctx = await browser.new_context(base_url=live.base_url)
    page = await ctx.new_page()
    watch(page, problems)
    csp_watch(page, problems)
    try:
        await log_in(page, live.base_url, "keys@example.com")
        await page.goto(f"{live.base_url}/admin/sites/keys")
        await expect(page.get_by_test_id("keys-table")).to_contain_text("No API keys yet.")
        form = page.get_by_test_id("add-key")
        await form.get_by_label("Name").fill("سامانه سفارش‌ها")
        await form.get_by_label("Scope").select_option("write")
        await form.get_by_role("button", name="Create key").click()

        # Shown once, with the notice; listed by id and name only.
        await expect(page.get_by_test_id("saved")).to_have_text("API key created.")
        await expect(page.get_by_test_id("new-key")).to_contain_text(
            "Copy the key now: it will not be shown again."
        )
        key = await page.get_by_test_id("new-key-value").inner_text()
        assert key.startswith("csk_")
        key_id = key.split("_")[1]
        row = page.locator(f'[data-testid="key-row"][data-id="{key_id}"]')
        await expect(row).to_contain_text("write")
        await expect(row).to_contain_text("never")
        await expect(row.get_by_test_id("key-state")).to_have_text("active")
        # The Persian name is laid out right to left in the left-to-right page.
        name_cell = row.locator("td").first
        await expect(name_cell).to_have_text("سامانه سفارش‌ها")
        assert await name_cell.evaluate("el => getComputedStyle(el).direction") == "rtl"

        await page.reload()
        await expect(page.get_by_test_id("new-key")).to_have_count(0)
        await expect(row).to_contain_text(key_id)
        assert key not in await page.content()
        assert key.split("_", 2)[2] not in await page.content()

        # The key works, and its use is shown.
        assert await asyncio.to_thread(api_status, live.base_url, key) == 200
        await reload_until(page, "key-row", lambda text: "never" not in text)

        # Revoked: refused from the next request on.
        await row.get_by_test_id("revoke-key").click()
        await expect(page.get_by_test_id("saved")).to_contain_text("API key revoked")
        await expect(row.get_by_test_id("key-state")).to_have_text("revoked")
        await expect(row.get_by_test_id("revoke-key")).to_have_count(0)
        assert await asyncio.to_thread(api_status, live.base_url, key) == 401
        stored = read_store(live, lambda s: s.site_api_keys("keys"))
        assert [(k.id, k.name, k.scope, bool(k.revoked_at)) for k in stored] == [
            (key_id, "سامانه سفارش‌ها", "write", True)
        ]

        # A name is needed; nothing is created without one.
        await form.get_by_label("Name").fill(" ")
        await form.get_by_role("button", name="Create key").click()
        await expect(page.get_by_test_id("form-errors")).to_contain_text("Give the key a name")
        assert len(read_store(live, lambda s: s.site_api_keys("keys"))) == 1
        assert problems == []
    finally:
        await ctx.close()


async def test_admin_adds_a_webhook_that_delivers_signed_events(
    browser: Browser, live: LiveServer, receiver: Receiver
) -> None:
    await add_agent(live, "hooks@example.com", "Hooks", "hooks", role="admin")
    problems: list[str] = []
    ctx = await browser.new_context(base_url=live.base_url)
    page = await ctx.new_page()
    watch(page, problems)
    csp_watch(page, problems)
    try:
        await log_in(page, live.base_url, "hooks@example.com")
        await page.goto(f"{live.base_url}/admin/sites/hooks")
        await page.get_by_test_id("webhooks-link").click()
        await expect(page.get_by_test_id("no-webhooks")).to_be_visible()

        # A URL that is not http(s) is refused by the server (past the browser's own check).
        token = await csrf_of(page)
        bad = {"url": "ftp://x.example", "csrf_token": token}
        assert await post(ctx, "/admin/sites/hooks/webhooks", bad) == 400
        assert read_store(live, lambda s: s.webhooks("hooks")) == []

        form = page.get_by_test_id("add-webhook")
        await form.get_by_label("URL").fill(receiver.url)
        await form.get_by_label("Description").fill("سامانه مشتریان")
        await form.get_by_label("message.created").check()
        await form.get_by_role("button", name="Add endpoint").click()
        await expect(page.get_by_test_id("saved")).to_contain_text("Webhook endpoint added")
        await expect(page.get_by_test_id("new-secret")).to_contain_text(
            "Copy the signing secret now: it will not be shown again."
        )
        receiver.secret = await page.get_by_test_id("new-secret-value").inner_text()
        assert receiver.secret.startswith("whsec_")
        hook = page.get_by_test_id("webhook")
        await expect(hook).to_have_count(1)
        await expect(hook).to_contain_text(receiver.url)
        await expect(hook.get_by_test_id("event-types")).to_have_text("message.created")
        await expect(hook.get_by_test_id("delivered")).to_have_text("0")
        description = hook.get_by_text("سامانه مشتریان")
        assert await description.evaluate("el => getComputedStyle(el).direction") == "rtl"
        await page.reload()
        await expect(page.get_by_test_id("new-secret")).to_have_count(0)
        assert receiver.secret not in await page.content()

        # A visitor's message reaches the receiver, signed; only the type asked for.
        v, conv_id = await visitor_writes(live, "hooks", "سلام، سفارشم کجاست؟")
        await until(lambda: len(receiver.accepted()) >= 1, "message.created delivered")
        got = receiver.accepted()[0]
        assert got["signed"] and got["type"] == "message.created"
        assert got["event"]["conversation_id"] == conv_id
        assert got["event"]["data"]["text"] == "سلام، سفارشم کجاست؟"
        await reload_until(page, "delivered", lambda text: int(text) >= 1)
        await expect(hook.get_by_test_id("last-status")).to_have_text("204")
        await expect(hook.get_by_test_id("failing-since")).to_have_text("—")

        # Replay from a minute ago: the same event again, with the same id.
        since = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
        await hook.get_by_label("Replay from (UTC)").fill(since)
        await hook.get_by_role("button", name="Replay", exact=True).click()
        await expect(page.get_by_test_id("saved")).to_contain_text("Replay started")
        await until(lambda: len(receiver.accepted()) >= 2, "the replayed event")
        again = receiver.accepted()[1]
        assert again["signed"] and again["id"] == got["id"]
        assert {r["type"] for r in receiver.requests} == {"message.created"}

        # Removed: nothing more is sent.
        await hook.get_by_test_id("remove-webhook").click()
        await expect(page.get_by_test_id("saved")).to_have_text("Webhook endpoint removed.")
        await expect(page.get_by_test_id("no-webhooks")).to_be_visible()
        assert read_store(live, lambda s: s.webhooks("hooks")) == []
        await v.close()
        assert problems == []
    finally:
        await ctx.close()


async def test_dead_letters_are_shown_and_replayed(
    browser: Browser, live: LiveServer, receiver: Receiver
) -> None:
    await add_agent(live, "dead@example.com", "Dead", "dead", role="admin")
    receiver.status = 500
    ctx = await browser.new_context(base_url=live.base_url)
    page = await ctx.new_page()
    try:
        await log_in(page, live.base_url, "dead@example.com")
        await page.goto(f"{live.base_url}/admin/sites/dead/webhooks")
        form = page.get_by_test_id("add-webhook")
        await form.get_by_label("URL").fill(receiver.url)
        await form.get_by_role("button", name="Add endpoint").click()
        receiver.secret = await page.get_by_test_id("new-secret-value").inner_text()
        hook = page.get_by_test_id("webhook")
        await expect(hook.get_by_test_id("event-types")).to_have_text("every event type")

        # The receiver fails: both events (created, message) become dead letters.
        v, conv_id = await visitor_writes(live, "dead", "hello")
        await reload_until(page, "dead-letters", lambda text: int(text.split()[0]) >= 2, 30)
        await expect(hook.get_by_test_id("last-status")).to_have_text("500")
        await expect(hook.get_by_test_id("last-error")).to_contain_text("HTTP 500")
        await expect(hook.get_by_test_id("dead-letters")).to_contain_text("to replay)")

        # Fixed, and replayed from the first dead letter: both arrive, in order.
        receiver.status = 204
        await hook.get_by_test_id("replay-dead").click()
        await expect(page.get_by_test_id("saved")).to_contain_text("Replay started")
        await expect(hook.get_by_test_id("replay-dead")).to_have_count(0)
        await until(lambda: len(receiver.accepted()) >= 2, "the dead letters replayed")
        types = [r["type"] for r in receiver.accepted()]
        assert types[:2] == ["conversation.created", "message.created"], types
        assert all(r["signed"] for r in receiver.requests)
        assert receiver.accepted()[0]["event"]["conversation_id"] == conv_id
        hook_id = await hook.get_attribute("data-id")
        assert read_store(live, lambda s: s.dead_letters("dead", hook_id)) == []
        await v.close()
    finally:
        await ctx.close()


async def _integrations(live: LiveServer, site: str) -> tuple[str, str]:
    """A key and an endpoint (pointing nowhere: the site has no events) made in the store."""

    async def make(store: Store) -> tuple[str, str]:
        key_id, _ = await store.issue_api_key(site, "CRM", "read", 1, "test")
        await store.add_webhook(site, "wh_fixture", "http://127.0.0.1:9/hook", "whsec_x", [], 1)
        return key_id, "wh_fixture"

    result: tuple[str, str] = read_store(live, make)
    return result


def _snapshot(live: LiveServer, site: str) -> Any:
    return read_store(
        live,
        lambda s: asyncio.gather(
            s.site_api_keys(site), s.webhooks(site), s.dead_letters(site, "wh_fixture")
        ),
    )


def _changes(site: str, key_id: str, hook_id: str) -> dict[str, dict[str, str]]:
    """Every form of the two pages, filled in as an admin would."""
    base = f"/admin/sites/{site}"
    return {
        f"{base}/keys": {"name": "Stolen", "scope": "admin"},
        f"{base}/keys/{key_id}/revoke": {},
        f"{base}/webhooks": {"url": "https://evil.example/hook"},
        f"{base}/webhooks/{hook_id}/delete": {},
        f"{base}/webhooks/{hook_id}/replay": {"since": "2020-01-01T00:00"},
        f"{base}/webhooks/{hook_id}/replay-dead": {},
    }


async def test_a_supervisor_sees_the_lists_and_an_agent_nothing(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "look@example.com", "Look", "look", role="supervisor")
    await add_agent(live, "plain-look@example.com", "Plain", "look")
    key_id, hook_id = await _integrations(live, "look")
    before = _snapshot(live, "look")
    ctx = await browser.new_context(base_url=live.base_url)
    page = await ctx.new_page()
    try:
        await log_in(page, live.base_url, "look@example.com")
        await page.goto(f"{live.base_url}/admin/sites/look")
        await expect(page.get_by_test_id("read-only")).to_be_visible()
        await expect(page.get_by_test_id("key-row")).to_contain_text(key_id)
        await expect(page.get_by_test_id("add-key")).to_have_count(0)
        await expect(page.get_by_test_id("revoke-key")).to_have_count(0)
        await page.get_by_test_id("webhooks-link").click()
        await expect(page.get_by_test_id("webhook")).to_contain_text("http://127.0.0.1:9/hook")
        for test_id in ("add-webhook", "remove-webhook", "replay-form", "replay-dead"):
            await expect(page.get_by_test_id(test_id)).to_have_count(0)
        token = await csrf_of(page)
        for url, form in _changes("look", key_id, hook_id).items():
            assert await post(ctx, url, {**form, "csrf_token": token}) == 403, url
        assert _snapshot(live, "look") == before
    finally:
        await ctx.close()

    ctx = await browser.new_context(base_url=live.base_url)
    page = await ctx.new_page()
    try:
        await log_in(page, live.base_url, "plain-look@example.com")
        token = await csrf_of(page)  # the workspace's (the refusal page has no form)
        for path in ("/admin/sites/look", "/admin/sites/look/webhooks"):
            response = await page.goto(f"{live.base_url}{path}")
            assert response is not None and response.status == 403, path
            await expect(page.get_by_test_id("forbidden")).to_be_visible()
        for url, form in _changes("look", key_id, hook_id).items():
            assert await post(ctx, url, {**form, "csrf_token": token}) == 403, url
        assert _snapshot(live, "look") == before
    finally:
        await ctx.close()


async def test_a_cross_site_post_or_one_without_the_token_changes_nothing(
    browser: Browser, live: LiveServer
) -> None:
    await add_agent(live, "guard@example.com", "Guard", "guard", role="admin")
    key_id, hook_id = await _integrations(live, "guard")
    before = _snapshot(live, "guard")
    ctx = await browser.new_context(base_url=live.base_url)
    page = await ctx.new_page()
    try:
        await log_in(page, live.base_url, "guard@example.com")
        await page.goto(f"{live.base_url}/admin/sites/guard/webhooks")
        token = await csrf_of(page)
        for url, form in _changes("guard", key_id, hook_id).items():
            assert await post(ctx, url, form) == 403, url
            assert await post(ctx, url, {**form, "csrf_token": "x" + token}) == 403, url
            evil = await post(
                ctx, url, {**form, "csrf_token": token}, Origin="https://evil.example"
            )
            assert evil == 403, url
        assert _snapshot(live, "guard") == before
        # The same form with its token from this origin goes through.
        revoke = f"/admin/sites/guard/keys/{key_id}/revoke"
        assert await post(ctx, revoke, {"csrf_token": token}) == 303
        keys = read_store(live, lambda s: s.site_api_keys("guard"))
        assert keys[0].revoked_at > 0
    finally:
        await ctx.close()
