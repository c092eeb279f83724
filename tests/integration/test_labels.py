"""Conversation labels on a real Redis and a real server: the site's labels on the admin page
(roles, CSRF, the limits, names unique across letter forms), a conversation's labels through
the console's `label` frame (the change reaches the agent's other console and a monitoring
supervisor), the REST API, the search filter, erasure and retention, and bad input of every
kind refused with its documented error."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import urllib.error
import urllib.request
from typing import Any

from chatserver.core.labels import MAX_LABELS
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.messages import Outgoing
from chatserver.privacy import Person, erase_person
from chatserver.search import search
from chatserver.store import Store, StoreError
from chatserver.store.search import Filters, Viewer
from tests import client as cl
from tests.integration.account_support import four_roles, get, post
from tests.integration.security_support import http
from tests.integration.test_api import cli_key
from tests.servers import LiveServer

SITE = "demo"
T0 = 1_767_225_600_000


async def chat(store: Store, visitor: str, at: int) -> str:
    _, conv = await store.open_conversation(SITE, visitor, at, visitor_name="Sara")
    await store.send_message(
        Outgoing(SITE, conv, "visitor", visitor, "Sara", f"{conv}-1", "hi", at)
    )
    return conv


async def found(store: Store, label: str, q: str = "") -> list[str]:
    page = await search(store, SITE, q, Filters(label=label), Viewer())
    return [item["id"] for item in page.items]


def api(base: str, key: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    req = urllib.request.Request(
        base + "/api/v1" + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def console_get(base: str, path: str, token: str) -> tuple[int, Any]:
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- the store: the site's labels, a conversation's, search, erasure, retention ------------
async def test_site_labels_limits_and_unique_names(redis_server: EmbeddedRedis) -> None:
    store = Store.from_url(redis_server.url)
    try:
        pay = await store.save_label(SITE, "", "پرداخت", "green")
        # The same name typed on an Arabic keyboard, in other case or spacing: no new label.
        await store.save_label(SITE, "", "Refund  Request", "red")
        for twin in ("refund request", "REFUND REQUEST"):
            try:
                await store.save_label(SITE, "", twin, "blue")
                raise AssertionError(twin)
            except StoreError as exc:
                assert exc.code == "duplicate"
        kaf = await store.save_label(SITE, "", "کیف", "gray")
        try:
            await store.save_label(SITE, "", "كيف", "gray")  # Arabic kaf and yeh
            raise AssertionError("an Arabic-letter twin was accepted")
        except StoreError as exc:
            assert exc.code == "duplicate"
        # Renaming keeps its own name free for itself, and frees the old one.
        await store.save_label(SITE, kaf, "کیف پول", "teal")
        await store.save_label(SITE, "", "کیف", "purple")
        try:
            await store.save_label(SITE, "l_nosuch", "x", "gray")
            raise AssertionError("updated a label that does not exist")
        except StoreError as exc:
            assert exc.code == "not_found"
        names = {lab.name: lab.color for lab in await store.labels(SITE)}
        assert names == {
            "پرداخت": "green",
            "Refund  Request": "red",
            "کیف پول": "teal",
            "کیف": "purple",
        }
        for i in range(MAX_LABELS - len(names)):
            await store.save_label(SITE, "", f"L{i}", "gray")
        try:
            await store.save_label(SITE, "", "one too many", "gray")
            raise AssertionError("the 51st label was accepted")
        except StoreError as exc:
            assert exc.code == "too_many"
        assert await store.delete_label(SITE, pay)
        assert not await store.delete_label(SITE, pay)
        await store.save_label(SITE, "", "one too many", "gray")  # room again
        # Another site's labels are its own.
        assert await store.labels("other") == []
        await store.save_label("other", "", "پرداخت", "green")
    finally:
        await store.close()


async def test_conversation_labels_search_and_erasure(redis_server: EmbeddedRedis) -> None:
    store = Store.from_url(redis_server.url)
    try:
        pay = await store.save_label(SITE, "", "پرداخت", "green")
        vip = await store.save_label(SITE, "", "VIP", "purple")
        other_site = await store.save_label("other", "", "Elsewhere", "red")
        a = await chat(store, "v_1", T0)
        b = await chat(store, "v_2", T0 + 1000)
        c = await chat(store, "v_3", T0 + 2000)

        assert await store.change_labels(SITE, a, "add", [pay]) == ([pay], True)
        assert await store.change_labels(SITE, a, "add", [pay]) == ([pay], False)
        assert await store.change_labels(SITE, b, "set", [vip, pay, vip]) == ([vip, pay], True)
        assert await store.change_labels(SITE, c, "add", [vip]) == ([vip], True)
        assert await found(store, pay) == [b, a]  # newest first, exactly the labelled ones
        assert await found(store, vip) == [c, b]
        assert await found(store, pay, "hi") == [b, a]  # with words too
        assert await store.change_labels(SITE, b, "remove", [pay]) == ([vip], True)
        assert await found(store, pay) == [a]

        for bad, code in (([other_site], "unknown_label"), (["l_nope"], "unknown_label")):
            try:
                await store.change_labels(SITE, c, "add", bad)
                raise AssertionError(bad)
            except StoreError as exc:
                assert exc.code == code and exc.detail == bad[0]
        assert await store.change_labels(SITE, c, "add", []) == ([vip], False)
        try:
            await store.change_labels(SITE, "c_nosuch", "add", [vip])
            raise AssertionError("labelled a conversation that does not exist")
        except StoreError as exc:
            assert exc.code == "not_found"
        # An agent labels only what they hold or joined.
        try:
            await store.change_labels(SITE, c, "add", [pay], agent_id="a_someone")
            raise AssertionError("labelled another agent's conversation")
        except StoreError as exc:
            assert exc.code == "forbidden"

        # A deleted label: never found by the filter's callers (they check it exists), and
        # dropped from a conversation at its next change.
        assert await store.delete_label(SITE, vip)
        assert not await store.has_label(SITE, vip)
        assert await store.change_labels(SITE, c, "add", [pay]) == ([pay], True)

        # Resolved: still labelled; missed or abandoned: closed.
        await store.resolve(SITE, a, "system", "", "", T0 + 5000)
        assert await store.change_labels(SITE, a, "remove", [pay]) == ([], True)
        assert await store.change_labels(SITE, a, "add", [pay]) == ([pay], True)

        # Erasure takes the labels with the person's data: the filter finds it no more.
        await erase_person(store, SITE, Person(visitor_id="v_1"), ("a_1", "Admin"), T0 + 6000)
        assert await found(store, pay) == [c]
        conv = await store.get_conversation(SITE, a)
        assert conv is not None and "labels" not in conv
        try:
            await store.change_labels(SITE, a, "add", [pay])
            raise AssertionError("labelled an erased conversation")
        except StoreError as exc:
            assert exc.code == "not_found"

        # Retention deletes an old ended conversation with its labels.
        await store.resolve(SITE, c, "system", "", "", T0 + 7000)
        assert await found(store, pay) == [c]
        outcome, _ = await store.delete_ended(SITE, c, T0 + 8000, T0 + 8000, 0)
        assert outcome == "deleted"
        assert await found(store, pay) == []
        assert await store.get_conversation(SITE, c) is None
    finally:
        await store.close()


# --- the admin page ------------------------------------------------------------------------
async def test_the_admin_page_roles_and_bad_input(live_server: LiveServer) -> None:
    live = live_server
    admin, sue, far, ann = four_roles(live)
    base, url = live.base_url, f"/admin/sites/{SITE}/labels"

    def create(token: str, name: str, color: str = "green") -> Any:
        return post(base, url, {"name": name, "color": color}, token=token)

    page = get(base, f"/admin/sites/{SITE}", admin)
    assert f'href="{url}"' in page.body
    assert create(admin, "  پرداخت ", "green").status == 303
    assert create(sue, "VIP", "purple").status == 303  # the site's own supervisor
    assert create(far, "Other's", "red").status == 403  # a supervisor of another site
    assert create(ann, "Agent's").status == 403
    assert get(base, url, ann).status == 403
    no_csrf = post(base, url, {"name": "x"}, token=admin)
    assert no_csrf.status == 303  # the helper sends the token; without it:
    assert http(base, url, {"name": "NoCsrf", "color": "gray"}, token=admin).status == 403

    bad = create(admin, "x" * 33)
    assert bad.status == 400 and "1 to 32 characters" in bad.body
    assert create(admin, "tab\there").status == 303  # whitespace is folded to a space
    assert create(admin, "bell\x07").status == 400
    assert create(admin, "").status == 400
    assert create(admin, "ok", "chartreuse").status == 400
    dup = create(admin, "پرداخت")
    assert dup.status == 409 and "already has that name" in dup.body

    store = Store.from_url(live.redis_url)
    try:
        labels = {lab.name: lab for lab in await store.labels(SITE)}
        assert set(labels) == {"پرداخت", "VIP", "tab here", "x"}
        vip = labels["VIP"]
        reply = post(base, f"{url}/{vip.id}", {"name": "V.I.P.", "color": "blue"}, token=sue)
        assert reply.status == 303
        assert {(lab.name, lab.color) for lab in await store.labels(SITE)} >= {("V.I.P.", "blue")}
        assert post(base, f"{url}/l_nosuch", {"name": "y", "color": "gray"}, admin).status == 404
        assert post(base, f"{url}/{vip.id}/delete", {}, token=far).status == 403
        assert post(base, f"{url}/{vip.id}/delete", {}, token=admin).status == 303
        assert post(base, f"{url}/{vip.id}/delete", {}, token=admin).status == 404
        page = get(base, url, sue)
        assert page.status == 200 and "پرداخت" in page.body and "V.I.P." not in page.body
        for i in range(MAX_LABELS - len(await store.labels(SITE))):
            await store.save_label(SITE, "", f"L{i}", "gray")
        full = create(admin, "fifty-first")
        assert full.status == 409 and f"at most {MAX_LABELS} labels" in full.body
        status, body = console_get(base, "/api/console/labels", ann)
        assert status == 200 and len(body["items"]) == MAX_LABELS
        assert {"id", "name", "color"} == set(body["items"][0])
    finally:
        await store.close()


# --- the console's frame, live to other consoles; the API -----------------------------------
async def test_labels_in_the_console_live_and_through_the_api(
    live_server: LiveServer, tmp_path: Any
) -> None:
    live = live_server
    live.add_agent("ann@example.com", name="Ann")
    live.add_agent("bob@example.com", name="Bob")
    live.add_agent("mina@example.com", name="Mina", role="supervisor")
    store = Store.from_url(live.redis_url)
    try:
        pay = await store.save_label(SITE, "", "پرداخت", "green")
        vip = await store.save_label(SITE, "", "VIP", "purple")
        elsewhere = await store.save_label("other", "", "Elsewhere", "red")
        ann_token = live.login("ann@example.com")
        ann, _ = await cl.agent(live.ws_url, ann_token)
        visitor, _ = await cl.visitor(live.ws_url)
        await visitor.send({"type": "message", "client_id": "v1", "text": "My payment failed"})
        conv = (await visitor.expect("ack"))["conversation_id"]
        assigned = await ann.expect("assigned", lambda f: f["conversation_id"] == conv)
        assert assigned["conversation"]["labels"] == []
        # Ann's second console and a supervisor monitoring the chat.
        ann2, welcome2 = await cl.agent(live.ws_url, ann_token)
        assert [c["id"] for c in welcome2["conversations"]] == [conv]
        mina, _ = await cl.agent(live.ws_url, live.login("mina@example.com"), status="away")
        await mina.send({"type": "monitor", "conversation_id": conv})
        await mina.expect("monitoring")
        bob, _ = await cl.agent(live.ws_url, live.login("bob@example.com"), status="away")

        def labels_of(frame: dict[str, Any]) -> bool:
            return frame.get("conversation_id") == conv

        await ann.send({"type": "label", "conversation_id": conv, "label_id": pay, "action": "add"})
        assert (await ann.expect("labels", labels_of))["labels"] == [pay]
        assert (await ann2.expect("labels", labels_of))["labels"] == [pay]
        assert (await mina.expect("labels", labels_of))["labels"] == [pay]
        # The supervisor labels it too; everyone following sees both.
        await mina.send(
            {"type": "label", "conversation_id": conv, "label_id": vip, "action": "add"}
        )
        for sock in (ann, ann2, mina):
            assert (await sock.expect("labels", labels_of))["labels"] == [pay, vip]
        # A new console's welcome carries them.
        ann3, welcome3 = await cl.agent(live.ws_url, ann_token)
        assert welcome3["conversations"][0]["labels"] == [pay, vip]
        await ann3.close()

        # Refusals, each with its documented code; nothing changes.
        for frame, code, field in (
            ({"label_id": elsewhere, "action": "add"}, "invalid_field", "label_id"),
            ({"label_id": "l_nosuch", "action": "add"}, "invalid_field", "label_id"),
            ({"label_id": "nope", "action": "add"}, "invalid_field", "label_id"),
            ({"label_id": pay, "action": "toggle"}, "invalid_field", "action"),
        ):
            await ann.send({"type": "label", "conversation_id": conv, **frame})
            error = await ann.expect("error")
            assert error["code"] == code and error.get("field") == field, (frame, error)
        await bob.send(
            {"type": "label", "conversation_id": conv, "label_id": pay, "action": "remove"}
        )
        assert (await bob.expect("error"))["code"] == "forbidden"
        await ann.send(
            {"type": "label", "conversation_id": "c_nosuch", "label_id": pay, "action": "add"}
        )
        assert (await ann.expect("error"))["code"] == "not_found"
        await visitor.send(
            {"type": "label", "conversation_id": conv, "label_id": pay, "action": "add"}
        )
        assert (await visitor.expect("error"))["code"] == "unknown_type"
        kept = await store.get_conversation(SITE, conv)
        assert kept is not None and kept["labels"] == f"{pay} {vip}"

        # The console's search finds it by label; an unknown label is a 400.
        status, body = console_get(live.base_url, f"/api/console/search?label={pay}", ann_token)
        assert status == 200 and [i["id"] for i in body["items"]] == [conv]
        assert body["items"][0]["labels"] == [  # by name
            {"id": vip, "name": "VIP", "color": "purple"},
            {"id": pay, "name": "پرداخت", "color": "green"},
        ]
        status, body = console_get(
            live.base_url, f"/api/console/search?label={elsewhere}", ann_token
        )
        assert status == 400 and body["error"] == "invalid_field"

        # The REST API: the labels, a conversation's, setting them, the filter.
        key = cli_key(live, tmp_path, "write", "add", "--name", "CRM", "--site", SITE)
        base = live.base_url
        status, body = await asyncio.to_thread(api, base, key, "GET", "/labels")
        assert status == 200 and [lab["name"] for lab in body["items"]] == ["VIP", "پرداخت"]
        status, body = await asyncio.to_thread(api, base, key, "GET", f"/conversations/{conv}")
        assert [lab["id"] for lab in body["labels"]] == [vip, pay]
        status, body = await asyncio.to_thread(
            api, base, key, "PUT", f"/conversations/{conv}/labels", {"labels": [vip]}
        )
        assert status == 200 and body["labels"] == [{"id": vip, "name": "VIP", "color": "purple"}]
        for sock in (ann, ann2, mina):
            assert (await sock.expect("labels", labels_of))["labels"] == [vip]
        status, body = await asyncio.to_thread(api, base, key, "GET", f"/conversations?label={vip}")
        assert status == 200 and [c["id"] for c in body["items"]] == [conv]
        status, body = await asyncio.to_thread(
            api, base, key, "GET", f"/conversations?label={pay}&q=payment"
        )
        assert status == 200 and body["items"] == []
        for path, payload, want, field in (
            (f"/conversations/{conv}/labels", {"labels": [elsewhere]}, 400, "labels"),
            (f"/conversations/{conv}/labels", {"labels": "VIP"}, 400, "labels"),
            (f"/conversations/{conv}/labels", {}, 400, "labels"),
            ("/conversations/c_nosuch/labels", {"labels": [vip]}, 404, None),
        ):
            status, body = await asyncio.to_thread(api, base, key, "PUT", path, payload)
            assert status == want, (payload, body)
            assert body["error"].get("field") == field, body
        status, body = await asyncio.to_thread(
            api, base, key, "GET", f"/conversations?label={elsewhere}"
        )
        assert status == 400 and body["error"]["field"] == "label"
        read_key = cli_key(live, tmp_path, "read", "add", "--name", "BI", "--site", SITE)
        status, _ = await asyncio.to_thread(
            api, base, read_key, "PUT", f"/conversations/{conv}/labels", {"labels": []}
        )
        assert status == 403
        for sock in (ann, ann2, mina, bob, visitor):
            await sock.close()
    finally:
        await store.close()


# --- the dashboard's report and the CSV exports ---------------------------------------------
async def test_label_counts_per_day_and_department(redis_server: EmbeddedRedis) -> None:
    store = Store.from_url(redis_server.url)
    try:
        pay = await store.save_label(SITE, "", "پرداخت", "green")
        vip = await store.save_label(SITE, "", "VIP", "purple")
        gone = await store.save_label(SITE, "", "Old", "gray")
        yesterday = await chat(store, "v_0", T0 - 1000)
        _, sales = await store.open_conversation(SITE, "v_1", T0, department="sales")
        today = await chat(store, "v_2", T0 + 1000)
        for conv in (yesterday, sales, today):
            await store.change_labels(SITE, conv, "add", [pay, gone])
        await store.change_labels(SITE, today, "add", [vip])
        await store.delete_label(SITE, gone)  # deleted: not counted, not listed
        day = (T0, T0 + 24 * 3600_000)
        counts = {c["name"]: c["count"] for c in await store.label_counts(SITE, *day)}
        assert counts == {"VIP": 1, "پرداخت": 2}
        sales_only = await store.label_counts(SITE, *day, department="sales")
        assert {c["name"]: c["count"] for c in sales_only} == {"VIP": 0, "پرداخت": 1}
        assert await store.label_counts("other", *day) == []
    finally:
        await store.close()


async def test_the_dashboard_and_csv_exports_show_labels(live_server: LiveServer) -> None:
    live = live_server
    live.add_agent("ann@example.com", name="Ann")
    live.add_agent("sue@example.com", name="Sue", role="supervisor")
    store = Store.from_url(live.redis_url)
    try:
        pay = await store.save_label(SITE, "", "پرداخت", "green")
        await store.save_label(SITE, "", "VIP", "purple")
        ann_token, sue = live.login("ann@example.com"), live.login("sue@example.com")
        ann, _ = await cl.agent(live.ws_url, ann_token)
        visitor, _ = await cl.visitor(live.ws_url)
        await visitor.send({"type": "message", "client_id": "v1", "text": "hello"})
        conv = (await visitor.expect("ack"))["conversation_id"]
        await ann.expect("assigned", lambda f: f["conversation_id"] == conv)
        await ann.send({"type": "label", "conversation_id": conv, "label_id": pay, "action": "add"})
        await ann.expect("labels")

        status, figures = console_get(live.base_url, "/api/metrics/dashboard", sue)
        assert status == 200
        assert [(c["name"], c["count"]) for c in figures["today"]["labels"]] == [
            ("VIP", 0),
            ("پرداخت", 1),
        ]

        def csv_of(path: str, token: str) -> list[list[str]]:
            req = urllib.request.Request(
                live.base_url + path, headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(req, timeout=10) as resp:
                text = resp.read().decode("utf-8-sig")
            return list(csv.reader(io.StringIO(text)))

        rows = csv_of("/export/conversations.csv", ann_token)
        assert rows[0][-1] == "labels"
        assert [(r[0], r[-1]) for r in rows[1:]] == [(conv, "پرداخت")]
        days = csv_of("/export/dashboard.csv?rows=days", sue)
        assert days[0][-2:] == ["label:VIP", "label:پرداخت"]
        assert days[-1][-2:] == ["0", "1"]  # today
        await ann.close()
        await visitor.close()
    finally:
        await store.close()
