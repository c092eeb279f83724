"""Export and erasure of one person on a real server: three conversations of theirs (one still
open), a second browser with the same e-mail, then the export, the erasure, and what search,
replay, the REST transcript and the audit log show afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
from pathlib import Path
from typing import Any

from chatserver.embedded_redis import EmbeddedRedis
from chatserver.messages import Outgoing
from chatserver.privacy import Erased, Person, erase_person
from chatserver.search import search
from chatserver.store import Store, StoreError
from chatserver.store.search import Filters, Viewer
from tests import client as cl
from tests.integration.security_support import csrf, http
from tests.integration.test_api import cli_key
from tests.servers import LiveServer, report

EMAIL = "ali.rezaei@example.com"
SECRET_WORDS = ["سفارش ۴۴۱۹ من کجاست؟", "my address is 12 Baker Street", "ممنون، عالی بود"]


async def chat_once(
    visitor: cl.Client, agent: cl.Client, text: str, reply: str, resolve: bool
) -> str:
    await visitor.send({"type": "message", "client_id": cl.client_id(), "text": text})
    conv_id: str = (await visitor.expect("ack"))["conversation_id"]
    await agent.expect("assigned", lambda f: f["conversation"]["id"] == conv_id)
    await agent.send(
        {"type": "message", "conversation_id": conv_id, "client_id": cl.client_id(), "text": reply}
    )
    await visitor.expect("message", lambda f: f.get("text") == reply)
    if resolve:
        await visitor.send({"type": "resolve"})
        await visitor.expect("resolved", lambda f: f["conversation_id"] == conv_id)
    return conv_id


async def person_with_three_chats(
    live: LiveServer,
) -> tuple[cl.Client, cl.Client, list[str], str]:
    """A visitor (and their id) with two resolved chats, one rated, and one still open."""
    store = Store.from_url(live.redis_url)
    try:
        # Every message after an end starts a new conversation (no reopening).
        await store.update_site("demo", {"reopen_window_s": "0"})
    finally:
        await store.close()
    live.add_agent("sara@example.com", name="Sara", capacity=5)
    agent, _ = await cl.agent(live.ws_url, live.login("sara@example.com"))
    visitor, welcome = await cl.visitor(live.ws_url, name="علی رضایی", email=EMAIL)
    convs = [
        await chat_once(visitor, agent, SECRET_WORDS[0], "بررسی می‌کنم", True),
        await chat_once(visitor, agent, SECRET_WORDS[1], "Thanks, noted", True),
    ]
    await visitor.send(
        {"type": "rate", "conversation_id": convs[0], "score": 5, "comment": SECRET_WORDS[2]}
    )
    await visitor.expect("message", lambda f: f.get("event") == "rated")
    # The third is still open when the erasure comes.
    convs.append(await chat_once(visitor, agent, "هنوز اینجام", "Still here", False))
    return visitor, agent, convs, welcome["visitor_id"]


async def test_export_then_erase_a_person(live_server: LiveServer, tmp_path: Path) -> None:
    live = live_server
    visitor, agent, convs, visitor_id = await person_with_three_chats(live)
    # Another browser of theirs, same e-mail, one short chat.
    other, other_welcome = await cl.visitor(live.ws_url, email=EMAIL.upper())
    other_conv = await chat_once(other, agent, "from my phone", "Hi again", True)
    key = cli_key(live, tmp_path, "admin", "add", "--name", "DPO", "--site", "demo")

    def api(method: str, path: str, body: Any = None) -> Any:
        return cl.rest(live.base_url, key, method, path, body)

    doc = await asyncio.to_thread(api, "GET", f"/api/v1/privacy/export?email={EMAIL}")
    assert doc["format"] == "chatserver-export-v1"
    by_id = {v["visitor_id"]: v for v in doc["visitors"]}
    assert set(by_id) == {visitor_id, other_welcome["visitor_id"]}
    mine = by_id[visitor_id]
    assert mine["details"]["name"] == "علی رضایی" and mine["details"]["email"] == EMAIL
    assert [c["id"] for c in mine["conversations"]] == convs
    texts = [m["text"] for c in mine["conversations"] for m in c["messages"]]
    assert all(word in texts for word in SECRET_WORDS[:2])
    assert mine["conversations"][0]["rating"] == {
        "score": 5,
        "comment": SECRET_WORDS[2],
        "at": mine["conversations"][0]["rating"]["at"],
    }
    assert doc["files"] == []

    before_ids = [m["id"] for m in mine["conversations"][0]["messages"]]
    done = await asyncio.to_thread(api, "POST", "/api/v1/privacy/erase", {"email": EMAIL})
    assert done["visitors"] == 2 and done["conversations"] == 4 and done["entries"] > 12
    report(f"privacy: erased {done}")

    # Nothing personal left: the export finds nobody, search finds nothing, the open chat
    # ended, and every entry is a tombstone with its id, kind and time.
    again = await asyncio.to_thread(api, "GET", f"/api/v1/privacy/export?email={EMAIL}")
    assert again["visitors"] == []
    store = Store.from_url(live.redis_url)
    try:
        for needle in ("علی", "ali.rezaei", "Baker", "۴۴۱۹", "4419"):
            found = await search(store, "demo", needle, Filters(), Viewer())
            assert found.items == [], needle
        third = await store.get_conversation("demo", convs[2])
        assert third is not None and third["status"] == "resolved" and third.get("erased_at")
        first = await store.get_conversation("demo", convs[0])
        assert first is not None and "rating_comment" not in first and "visitor_name" not in first
        assert first["rating"] == "5"  # the score stays in the metrics, with no one's name
        assert await store.load_visitor("demo", other_welcome["visitor_id"]) is None
        assert await store.find_person("demo", email=EMAIL) == []
        actions = [e.action for e in await store.audit_log("demo", None, 20)]
        assert "erase" in actions and "export" in actions
    finally:
        await store.close()

    # The console's transcript of it: the same ids, in order, and nothing of what was said.
    sara = live.login("sara@example.com")
    path = f"/api/console/conversations/{convs[0]}/messages"
    page = await asyncio.to_thread(http, live.base_url, path, token=sara)
    replayed = json.loads(page.body)["messages"]
    assert [f["id"] for f in replayed] == before_ids
    for frame in replayed:
        flat = json.dumps(frame, ensure_ascii=False)
        assert not any(word in flat for word in [*SECRET_WORDS, "علی", EMAIL]), flat
        if frame["from"] in ("visitor", "agent"):
            assert frame["text"] == "" and frame["event"] == "erased", frame
    transcript = await asyncio.to_thread(api, "GET", f"/api/v1/conversations/{other_conv}/messages")
    assert all(m["text"] == "" for m in transcript["items"] if m["from"] != "system")
    # Nobody can take an erased conversation up again.
    await agent.send({"type": "reopen", "conversation_id": convs[0]})
    refused = await agent.expect("error")
    assert refused["code"] == "conflict" and "erased" in refused["message"], refused
    for c in (visitor, other, agent):
        await c.close()


async def test_the_cli_exports_and_erases_and_refuses_without_yes(
    live_server: LiveServer, tmp_path: Path
) -> None:
    live = live_server
    visitor, agent, convs, _ = await person_with_three_chats(live)
    env = {**os.environ, "REDIS_URL": live.redis_url, "CHATSERVER_DATA_DIR": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "chatserver", "privacy", *args],
            env=env,
            capture_output=True,
            timeout=60,
        )

    out = tmp_path / "ali.json"
    done = await asyncio.to_thread(cli, "export", "--email", EMAIL, "--out", str(out))
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert [c["id"] for c in doc["visitors"][0]["conversations"]] == convs
    refused = await asyncio.to_thread(cli, "erase", "--email", EMAIL)
    assert refused.returncode == 2 and b"--yes" in refused.stderr
    nothing = await asyncio.to_thread(cli, "export")
    assert nothing.returncode == 2 and b"visitor_id" in nothing.stderr
    erased = await asyncio.to_thread(cli, "erase", "--email", EMAIL, "--yes")
    assert erased.returncode == 0, erased.stderr
    assert b"1 visitor records, 3 conversations" in erased.stderr + erased.stdout
    # The visitor's socket saw their open chat end.
    await visitor.expect("resolved", lambda f: f["conversation_id"] == convs[2])
    await visitor.close()
    await agent.close()


async def test_the_admin_page_finds_exports_and_erases(live_server: LiveServer) -> None:
    live = live_server
    visitor, agent, _, _ = await person_with_three_chats(live)
    live.add_agent("root@example.com", role="admin", name="Root")
    live.add_agent("boss@example.com", role="supervisor", name="Boss")
    root, boss = live.login("root@example.com"), live.login("boss@example.com")
    base = "/admin/sites/demo/privacy"
    looked = await asyncio.to_thread(http, live.base_url, base, token=boss)
    assert looked.status == 403  # supervisors see no one's data here
    page = await asyncio.to_thread(http, live.base_url, f"{base}?email={EMAIL}", token=root)
    assert (
        page.status == 200 and "علی رضایی" in page.body and 'data-testid="person-row"' in page.body
    )
    cookie = await asyncio.to_thread(csrf, live.base_url, root, base)
    form = {"csrf_token": cookie["cs_csrf"], "email": EMAIL}
    export = await asyncio.to_thread(
        http, live.base_url, f"{base}/export", form, token=root, cookies=cookie
    )
    assert export.status == 200 and "attachment" in export.headers.get("content-disposition", "")
    assert json.loads(export.body)["visitors"][0]["details"]["email"] == EMAIL
    wrong = await asyncio.to_thread(
        http, live.base_url, f"{base}/erase", {**form, "confirm": "yes"}, token=root, cookies=cookie
    )
    assert wrong.status == 400 and "type erase to confirm" in wrong.body
    erased = await asyncio.to_thread(
        http,
        live.base_url,
        f"{base}/erase",
        {**form, "confirm": "erase"},
        token=root,
        cookies=cookie,
    )
    assert erased.status == 200 and 'data-testid="erased"' in erased.body, erased.body
    assert "1 visitor records, 3 conversations" in erased.body
    # Retention: the setting is saved, and a bad value says why.
    bad = await asyncio.to_thread(
        http,
        live.base_url,
        f"{base}/retention",
        {"csrf_token": cookie["cs_csrf"], "retention_days": "-3"},
        token=root,
        cookies=cookie,
    )
    assert bad.status == 400 and "whole number of days" in bad.body
    saved = await asyncio.to_thread(
        http,
        live.base_url,
        f"{base}/retention",
        {"csrf_token": cookie["cs_csrf"], "retention_days": "30"},
        token=root,
        cookies=cookie,
    )
    assert saved.status == 303
    store = Store.from_url(live.redis_url)
    try:
        assert (await store.get_site("demo") or {})["retention_days"] == "30"
    finally:
        await store.close()
    await visitor.close()
    await agent.close()


def test_an_export_without_a_person_is_refused(live_server: LiveServer, tmp_path: Path) -> None:
    key = cli_key(live_server, tmp_path, "admin", "add", "--name", "DPO", "--site", "demo")
    try:
        cl.rest(live_server.base_url, key, "GET", "/api/v1/privacy/export")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400
        assert json.loads(exc.read())["error"]["code"] == "invalid_request"
    else:
        raise AssertionError("an export without a person was not refused")


async def test_two_erasures_at_once_while_the_person_writes(redis_server: EmbeddedRedis) -> None:
    """Two nodes erase one person at the same moment while the person keeps writing (their
    chat reopens after each end): nothing acknowledged is lost, the ids stay in order, and
    every entry up to the erasure's end is a tombstone."""
    one, two = Store.from_url(redis_server.url), Store.from_url(redis_server.url)
    try:
        now = 1_767_225_600_000
        await one.update_site("demo", {"name": "Demo"})
        await one.visitor_seen("demo", "v_big", {"id": "v_big", "email": EMAIL}, 0)
        _, conv = await one.open_conversation("demo", "v_big", now, visitor_name="علی")
        for start in range(0, 2400, 400):  # several erasure batches (500 each)
            await asyncio.gather(
                *(
                    one.send_message(
                        Outgoing(
                            "demo", conv, "visitor", "v_big", "علی", f"m{i}", f"secret {i}", now
                        )
                    )
                    for i in range(start, start + 400)
                )
            )
        finished, mid_chat = asyncio.Event(), asyncio.Event()
        acked: list[str] = []

        async def person_writes() -> None:
            i = 0
            while not finished.is_set():
                i += 1
                _outcome, conv_id = await two.open_conversation("demo", "v_big", now + i)
                if conv_id != conv:
                    return  # their record is gone: a new chat is new data
                try:
                    res = await two.send_message(
                        Outgoing(
                            "demo", conv, "visitor", "v_big", "علی", f"w{i}", f"again {i}", now + i
                        )
                    )
                except StoreError:
                    continue  # ended by the erasure between the two steps: write again
                acked.append(res.id)
                if len(acked) == 20:
                    mid_chat.set()

        async def erase(store: Store, by: str) -> Erased:
            try:
                return await erase_person(store, "demo", Person(email=EMAIL), (by, by), now + 5000)
            finally:
                finished.set()

        writing = asyncio.create_task(person_writes())
        await mid_chat.wait()  # the person is writing when the erasures start
        first, second = await asyncio.gather(erase(one, "a_1"), erase(two, "a_2"))
        await writing
        entries = await one.all_entries("demo", conv)
        ids = [i for i, _ in entries]
        assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
        assert len(ids) == len(set(ids))
        visitor_ids = {i for i, f in entries if f.get("k") == "visitor"}
        assert len(visitor_ids) == 2400 + len(acked) and set(acked) <= visitor_ids
        assert all(f.get("t", "") == "" for _, f in entries if f.get("k") != "system")
        assert all(f.get("e") == "erased" for _, f in entries if f.get("k") != "system")
        assert not any("علی" in f.get("n", "") for _, f in entries)
        assert await one.r.keys("*erasing*") == []
        assert await one.find_person("demo", email=EMAIL) == []
        # Writing on after the end started a new conversation: theirs, and nothing else is.
        kept = await one.load_visitor("demo", "v_big") or {}
        assert set(kept) <= {"id", "site", "open_conv"} and kept.get("open_conv") != conv
        report(
            f"privacy: two erasures at once {first}, {second}; "
            f"{len(acked)} messages written meanwhile"
        )
    finally:
        await one.close()
        await two.close()
