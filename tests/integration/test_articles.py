"""Help articles on a real Redis and a real server: the admin pages (roles, CSRF, every kind
of bad input refused with its message, the limit, the audit log), and the public help page
(published only, by language, search folding Arabic-keyboard letters, strict headers, safe
Markdown)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from chatserver.core.articles import MAX_ARTICLES, Article
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.store import Store, StoreError
from tests import client as cl
from tests.integration.account_support import four_roles, get, post
from tests.integration.security_support import http
from tests.servers import LiveServer

SITE = "demo"


def article_form(**fields: str) -> dict[str, str]:
    base = {"title": "Refunds", "body": "Ask us.", "lang": "en", "category": "", "patterns": ""}
    return {**base, **fields}


async def test_the_store_keeps_the_limit_where_it_writes(redis_server: EmbeddedRedis) -> None:
    store = Store.from_url(redis_server.url)
    try:
        one = await store.save_article(SITE, Article("", "One", "b", "en"))
        got = await store.article(SITE, one)
        assert got is not None and got.title == "One" and not got.published
        await store.save_article(SITE, replace(got, title="Uno", published=True))
        assert [a.title for a in await store.articles(SITE)] == ["Uno"]
        try:
            await store.save_article(SITE, Article("a_nosuch", "x", "b", "en"))
            raise AssertionError("updated an article that does not exist")
        except StoreError as exc:
            assert exc.code == "not_found"
        for i in range(MAX_ARTICLES - 1):
            await store.save_article(SITE, Article("", f"A{i}", "b", "en"))
        try:
            await store.save_article(SITE, Article("", "one too many", "b", "en"))
            raise AssertionError("the 501st article was accepted")
        except StoreError as exc:
            assert exc.code == "too_many"
        assert await store.delete_article(SITE, one)
        assert not await store.delete_article(SITE, one)
        await store.save_article(SITE, Article("", "room again", "b", "en"))
        assert await store.articles("other") == []
    finally:
        await store.close()


async def test_the_admin_pages_roles_bad_input_and_audit(live_server: LiveServer) -> None:
    live = live_server
    admin, sue, far, ann = four_roles(live)
    base, url = live.base_url, f"/admin/sites/{SITE}/articles"

    assert f'href="{url}"' in get(base, f"/admin/sites/{SITE}", admin).body
    assert f'href="{url}"' in get(base, f"/admin/sites/{SITE}", sue).body
    assert get(base, url, ann).status == 403 and get(base, url, far).status == 403
    assert get(base, f"{url}/new", sue).status == 200
    assert post(base, url, article_form(), token=ann).status == 403
    assert post(base, url, article_form(), token=far).status == 403
    assert http(base, url, article_form(), token=admin).status == 403  # no CSRF token

    def bad(fields: dict[str, str], status: int, text: str) -> None:
        reply = post(base, url, article_form(**fields), token=admin)
        assert reply.status == status and text in reply.body, (fields, reply.status)
        # What was typed is shown again, nothing lost.
        assert fields.get("body", "Ask us.")[:20].replace("<", "&lt;") in reply.body

    bad({"title": "x" * 201}, 400, "A title is 1 to 200 characters")
    bad({"title": "  "}, 400, "A title is 1 to 200 characters")
    bad({"body": "x" * 20_001}, 400, "The text is 1 to 20,000 characters")
    bad({"body": ""}, 400, "The text is 1 to 20,000 characters")
    bad({"lang": "de"}, 400, "Choose English or Persian")
    bad({"category": "c" * 61}, 400, "A category is at most 60 characters")
    bad({"patterns": "shop.example/checkout"}, 400, "A page pattern is a page address")
    bad({"patterns": "javascript:alert(1)"}, 400, "A page pattern is a page address")
    many = "\n".join(f"https://shop.example/{i}" for i in range(21))
    bad({"patterns": many}, 400, "at most 20 page patterns")

    fields = article_form(
        title="بازگرداندن کیف",
        body="برای **بازگرداندن** کالا <script>alert(1)</script> [راهنما](javascript:alert(1))",
        lang="fa",
        category="پرداخت",
        published="1",
        patterns="https://shop.example/checkout*",
    )
    assert post(base, url, fields, token=sue).status == 303
    assert post(base, url, article_form(title="Draft one"), token=admin).status == 303
    page = get(base, url, sue)
    assert page.status == 200 and "بازگرداندن کیف" in page.body and "Draft one" in page.body
    ids = re.findall(r'data-article-id="(a_[^"]+)"', page.body)
    assert len(ids) == 2
    store = Store.from_url(live.redis_url)
    try:
        articles = {a.title: a for a in await store.articles(SITE)}
        fa = articles["بازگرداندن کیف"]
        assert (
            fa.published and fa.lang == "fa" and fa.patterns == ("https://shop.example/checkout*",)
        )
        edit = get(base, f"{url}/{fa.id}", admin)
        assert edit.status == 200 and "https://shop.example/checkout*" in edit.body
        assert get(base, f"{url}/a_nosuch", admin).status == 404
        assert get(base, f"{url}/..%2Fx", admin).status == 404
        changed = {**fields, "title": "بازگرداندن کیف پول"}
        assert post(base, f"{url}/{fa.id}", changed, token=admin).status == 303
        assert post(base, f"{url}/a_nosuch", changed, token=admin).status == 404
        draft = articles["Draft one"]
        assert post(base, f"{url}/{draft.id}/delete", {}, token=far).status == 403
        assert post(base, f"{url}/{draft.id}/delete", {}, token=sue).status == 303
        assert post(base, f"{url}/{draft.id}/delete", {}, token=sue).status == 404
        assert [a.title for a in await store.articles(SITE)] == ["بازگرداندن کیف پول"]

        entries = await store.audit_log(SITE)
        actions = [e.action for e in entries]
        assert actions.count("article_saved") == 3 and actions.count("article_deleted") == 1
        assert any(e.actor_name == "Sue" and "(published)" in e.detail for e in entries)

        for i in range(MAX_ARTICLES - 1):
            await store.save_article(SITE, Article("", f"A{i}", "b", "en"))
        full = post(base, url, article_form(title="too many"), token=admin)
        assert full.status == 409 and f"already has {MAX_ARTICLES} articles" in full.body
    finally:
        await store.close()


async def test_the_public_help_page(live_server: LiveServer) -> None:
    live = live_server
    store = Store.from_url(live.redis_url)
    try:
        wallet = await store.save_article(
            SITE,
            Article(
                "",
                "شارژ کیف پول",
                "# کیف پول\n\nبا **کارت** شارژ کنید.\n\n<script>alert(1)</script>\n\n"
                "[بد](javascript:alert(1)) [خوب](https://shop.example/wallet)",
                "fa",
                "پرداخت",
                True,
            ),
        )
        await store.save_article(
            SITE, Article("", "Wallet top-up", "Use a card.", "en", "Pay", True)
        )
        draft = await store.save_article(SITE, Article("", "Secret draft", "hidden", "en"))
    finally:
        await store.close()
    base = live.base_url

    en = http(base, f"/help/{SITE}", headers={"Accept-Language": "en-US"})
    assert en.status == 200 and 'lang="en" dir="ltr"' in en.body
    assert "Wallet top-up" in en.body and "شارژ کیف پول" not in en.body
    assert "Secret draft" not in en.body
    assert "script-src 'self'" in en.headers["Content-Security-Policy"]
    assert en.headers["X-Frame-Options"] == "DENY"
    assert "<script" not in en.body  # the page needs no script at all

    fa = http(base, f"/help/{SITE}", headers={"Accept-Language": "fa-IR,fa;q=0.9"})
    assert 'lang="fa" dir="rtl"' in fa.body and "شارژ کیف پول" in fa.body
    assert "پرداخت" in fa.body and "راهنما" in fa.body
    forced = http(base, f"/help/{SITE}?lang=fa", headers={"Accept-Language": "en"})
    assert "شارژ کیف پول" in forced.body

    # ك and ي typed on an Arabic keyboard find the article written with ک and ی.
    found = http(base, f"/help/{SITE}?lang=fa&q=%D9%83%D9%8A%D9%81")
    assert found.status == 200 and 'data-testid="help-result"' in found.body
    assert f'href="/help/{SITE}/{wallet}"' in found.body
    nothing = http(base, f"/help/{SITE}?lang=fa&q=zzzz")
    assert 'data-testid="help-no-results"' in nothing.body
    hostile = http(base, f"/help/{SITE}?q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert hostile.status == 200 and "<script>alert" not in hostile.body

    one = http(base, f"/help/{SITE}/{wallet}")
    assert one.status == 200 and 'lang="fa" dir="rtl"' in one.body
    assert "<h1>کیف پول</h1>" in one.body and "<strong>کارت</strong>" in one.body
    assert "&lt;script&gt;" in one.body and "<script" not in one.body
    assert 'href="javascript' not in one.body
    assert 'href="https://shop.example/wallet"' in one.body
    by_slug = http(base, f"/help/{SITE}/wallet-top-up")
    assert by_slug.status == 200 and "Use a card." in by_slug.body
    assert http(base, f"/help/{SITE}/{draft}").status == 404  # drafts are not public
    assert http(base, f"/help/{SITE}/a_nosuch").status == 404
    missing = http(base, "/help/nosuchsite", headers={"Accept-Language": "fa"})
    assert missing.status == 404 and 'dir="rtl"' in missing.body


# --- the widget's API ---------------------------------------------------------------------
def widget_get(base: str, path: str) -> tuple[int, Any, Any]:
    reply = http(base, path)
    return reply.status, json.loads(reply.body), reply.headers


def widget_post(base: str, path: str, body: bytes = b"") -> tuple[int, Any, Any]:
    reply = http(base, path, json_body=body)
    return reply.status, json.loads(reply.body), reply.headers


async def test_the_widget_api_suggests_counts_and_records_what_was_read(
    live_server: LiveServer,
) -> None:
    live = live_server
    store = Store.from_url(live.redis_url)
    checkout = "https://shop.example/checkout*"
    try:
        ids = {
            name: await store.save_article(SITE, art)
            for name, art in {
                "wallet": Article("", "شارژ کیف پول", "با کارت", "fa", "", True),
                "refund": Article("", "بازگرداندن وجه", "وجه به کیف پول برمی‌گردد", "fa", "", True),
                "pinned": Article("", "پرداخت در صندوق", "مراحل", "fa", "", True, (checkout,)),
                "draft": Article("", "کیف پیش‌نویس", "x", "fa"),
                "english": Article("", "Wallet", "Top up your wallet", "en", "", True),
            }.items()
        }
    finally:
        await store.close()
    base, api = live.base_url, "/api/widget/articles"

    # An Arabic-keyboard کيف finds کیف; drafts never; the title's match first.
    status, body, headers = widget_get(base, f"{api}?site={SITE}&lang=fa&q=%D9%83%D9%8A%D9%81")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert [i["id"] for i in body["items"]] == [ids["wallet"], ids["refund"]]
    assert body["items"][0]["url"] == f"/help/{SITE}/{ids['wallet']}"
    assert body["items"][0]["pinned"] is False
    # On a pinned page, its article comes first, even with nothing typed.
    page = "https://shop.example/checkout/step-2"
    _, body, _ = widget_get(base, f"{api}?site={SITE}&lang=fa&page={page}")
    assert [(i["id"], i["pinned"]) for i in body["items"]] == [(ids["pinned"], True)]
    _, body, _ = widget_get(base, f"{api}?site={SITE}&lang=fa&page={page}&q=%DA%A9%DB%8C%D9%81")
    assert [i["id"] for i in body["items"]] == [ids["pinned"], ids["wallet"], ids["refund"]]
    _, body, _ = widget_get(base, f"{api}?site={SITE}&lang=en&q=wal")
    assert [i["id"] for i in body["items"]] == [ids["english"]]
    _, body, _ = widget_get(base, f"{api}?site={SITE}&q=")
    assert body == {"items": []}

    for query, code in (
        ("lang=de", "invalid_lang"),
        ("q=" + "x" * 201, "query_too_long"),
        ("page=javascript:alert(1)", "invalid_page"),
        ("page=https://a/" + "x" * 2048, "invalid_page"),
    ):
        status, body, _ = widget_get(base, f"{api}?site={SITE}&{query}")
        assert status == 400 and body["error"] == code, (query, body)
    status, body, _ = widget_get(base, f"{api}?site=nosuchsite")
    assert status == 404 and body["error"] == "unknown_site"

    status, one, _ = widget_get(base, f"{api}/{ids['wallet']}?site={SITE}")
    assert status == 200 and one["title"] == "شارژ کیف پول" and one["html"] == "<p>با کارت</p>\n"
    for missing in (ids["draft"], "a_nosuch", "a_bad!id"):
        status, body, _ = widget_get(base, f"{api}/{missing}?site={SITE}")
        assert status == 404 and body["error"] == "not_found", missing

    # "This answered my question", counted for the site's day and shown on the dashboard.
    status, body, headers = widget_post(base, f"{api}/{ids['wallet']}/deflected?site={SITE}")
    assert status == 200 and body == {"counted": True, "today": 1, "article": ids["wallet"]}
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert widget_post(base, f"{api}/{ids['draft']}/deflected?site={SITE}")[0] == 404
    live.add_agent("sue@example.com", name="Sue", role="supervisor")
    sue = live.login("sue@example.com")
    reply = http(base, "/api/metrics/dashboard", token=sue)
    figures = json.loads(reply.body)
    assert figures["today"]["deflected"] == 1 and "deflected" not in figures["last_hour"]
    # The console's Articles button: the agent's site's published articles, absolute links.
    reply = http(base, "/api/console/articles?q=%D9%83%D9%8A%D9%81", token=sue)
    items = json.loads(reply.body)["items"]
    assert reply.status == 200 and [i["id"] for i in items] == [ids["wallet"], ids["refund"]]
    assert items[0]["url"] == f"{base}/help/{SITE}/{ids['wallet']}"
    reply = http(base, "/api/console/articles", token=sue)
    assert len(json.loads(reply.body)["items"]) == 4  # every published one, no draft
    assert http(base, "/api/console/articles").status == 401

    # One address counts at most 10 an hour (this host is exempt unless told otherwise).
    strict = live.start_node({"CHATSERVER_LIMIT_EXEMPT": "192.0.2.0/24"}).base_url
    for _ in range(10):
        assert widget_post(strict, f"{api}/{ids['refund']}/deflected?site={SITE}")[0] == 200
    status, body, _ = widget_post(strict, f"{api}/{ids['refund']}/deflected?site={SITE}")
    assert status == 429 and body["error"] == "rate_limited"

    # The visitor read two articles, then wrote: the reads join the visit's pages.
    v, welcome = await cl.visitor(
        live.ws_url, page={"url": "https://shop.example/", "title": "Shop"}
    )
    try:
        await v.send({"type": "message", "client_id": "v1", "text": "سلام"})
        conv = (await v.expect("ack"))["conversation_id"]
        read = f"{api}/read?site={SITE}"

        def report(**fields: Any) -> tuple[int, Any]:
            body = {"token": v.token, "conversation_id": conv, "articles": [ids["wallet"]]}
            status, got, _ = widget_post(base, read, json.dumps({**body, **fields}).encode())
            return status, got

        for fields, status, code in (
            ({"token": "forged"}, 401, "invalid_token"),
            ({"articles": []}, 400, "invalid_field"),
            ({"articles": "a_x"}, 400, "invalid_field"),
            ({"articles": [1]}, 400, "invalid_field"),
            ({"articles": [ids["draft"]]}, 404, "not_found"),
            ({"conversation_id": "c_other"}, 404, "not_found"),
        ):
            assert report(**fields) == (status, report(**fields)[1]), fields
            assert report(**fields)[1]["error"] == code, fields
        assert widget_post(base, read, b"[1]")[1]["error"] == "invalid_json"
        assert widget_post(base, read, b"{" + b" " * 5000 + b"}")[1]["error"] == "invalid_json"
        status, body = report(articles=[ids["wallet"], ids["refund"], ids["wallet"]])
        assert status == 200 and body == {"recorded": [ids["wallet"], ids["refund"]]}
        store = Store.from_url(live.redis_url)
        try:
            context = await store.visitor_context(SITE, [welcome["visitor_id"]], 2**41)
            pages = [(p["url"], p["title"]) for p in context[0]["pages"]]
            assert (f"{base}/help/{SITE}/{ids['refund']}", "بازگرداندن وجه") in pages
            assert (f"{base}/help/{SITE}/{ids['wallet']}", "شارژ کیف پول") in pages
        finally:
            await store.close()
    finally:
        await v.close()
