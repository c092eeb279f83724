"""Files go with their conversation: listed in a person's export, deleted from the storage by
an erasure and by retention, and an upload no message used is deleted a day later."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chatserver.config import Settings
from chatserver.core.retention import DAY_MS
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.files.cleanup import PendingCleanup
from chatserver.files.service import Files
from chatserver.files.storage import object_key
from chatserver.messages import Outgoing
from chatserver.retention import Retention
from chatserver.store import Store
from tests import client as cl
from tests.integration import files_support as fs
from tests.integration.test_api import cli_key
from tests.servers import LiveServer

SITE = "demo"
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


async def test_export_lists_files_and_erasure_deletes_them(
    live_server: LiveServer, tmp_path: Path
) -> None:
    live = live_server
    live.add_agent("sara@example.com", name="Sara")
    session = live.login("sara@example.com")
    agent, _ = await cl.agent(live.ws_url, session)
    v, welcome = await cl.visitor(live.ws_url, email="reza@example.com")
    assert v.token
    up = fs.visitor_upload(live.base_url, v.token, "گذرنامه.jpg", fs.jpeg_with_gps())
    mine = up.json()["file"]["id"]
    await v.send({"type": "message", "client_id": "p", "file": mine, "text": "passport"})
    conv_id = (await v.expect("ack"))["conversation_id"]
    await agent.expect("assigned")
    frame = await agent.expect("message", lambda f: f.get("client_id") == "p")
    back = fs.agent_upload(live.base_url, session, conv_id, "form.pdf", fs.pdf())
    theirs = back.json()["file"]["id"]
    msg = {"type": "message", "conversation_id": conv_id, "client_id": "a", "file": theirs}
    await agent.send(msg)
    await agent.expect("ack", lambda f: f["client_id"] == "a")
    stored = live.data_dir / "files" / SITE
    assert sorted(p.name for p in stored.iterdir()) == sorted([mine, f"{mine}.thumb", theirs])

    key = cli_key(live, tmp_path, "admin", "add", "--name", "DPO", "--site", SITE)

    def api(method: str, path: str, body: Any = None) -> Any:
        return cl.rest(live.base_url, key, method, path, body)

    doc = await asyncio.to_thread(api, "GET", "/api/v1/privacy/export?email=reza@example.com")
    files = {f["id"]: f for f in doc["files"]}
    assert set(files) == {mine, theirs}
    assert files[mine]["name"] == "گذرنامه.jpg" and files[mine]["uploaded_by"] == "visitor"
    assert files[theirs]["uploaded_by"] == "agent" and files[theirs]["conversation_id"] == conv_id
    assert files[theirs]["type"] == "application/pdf" and files[theirs]["size"] == len(fs.pdf())

    await asyncio.to_thread(api, "POST", "/api/v1/privacy/erase", {"email": "reza@example.com"})
    assert list(stored.iterdir()) == []
    assert fs.request(live.base_url + frame["file"]["url"]).status == 404
    # The tombstones keep no file (its name was theirs too).
    replay, _ = await cl.agent(live.ws_url, session)
    await replay.send({"type": "sync", "conversation_id": conv_id})
    await replay.expect("synced")
    entries = [f for f in replay.of_type("message") if f.get("conversation_id") == conv_id]
    assert entries and not [f for f in entries if "file" in f]
    doc = await asyncio.to_thread(
        api, "GET", f"/api/v1/privacy/export?visitor_id={welcome['visitor_id']}"
    )
    assert doc["files"] == []
    for c in (v, agent, replay):
        await c.close()


@pytest.fixture
async def parts(redis_server: EmbeddedRedis, tmp_path: Path) -> AsyncIterator[tuple[Store, Files]]:
    store = Store.from_url(redis_server.url)
    await store.update_site(SITE, {"name": "Demo", "retention_days": "7"})
    clock = {"now": T0}
    files = Files(store, Settings(data_dir=tmp_path, secret_key="k" * 40), lambda: clock["now"])
    yield store, files
    await store.close()


async def test_retention_deletes_a_conversations_files(parts: tuple[Store, Files]) -> None:
    store, files = parts
    _, conv_id = await store.open_conversation(SITE, "v_1", T0)
    meta = await files.upload(SITE, "visitor:v_1", "", "a.png", fs.png(), limited=False)
    stored_meta = await files.for_message(SITE, meta["id"], "c1")
    await store.send_message(
        Outgoing(SITE, conv_id, "visitor", "v_1", "V", "c1", "", T0, meta["id"], stored_meta)
    )
    await store.resolve(SITE, conv_id, "visitor", "v_1", "V", T0 + 1000)
    keys = [object_key(SITE, meta["id"]), object_key(SITE, meta["id"], thumb=True)]
    assert all([await files.storage.exists(k) for k in keys])
    retention = Retention(store, store.get_site, lambda: T0, "n1")
    retention.forget_files = files.forget_conversation
    done = await retention.run_site(SITE, T0 + 8 * DAY_MS)
    assert done.conversations == 1
    assert not any([await files.storage.exists(k) for k in keys])
    assert await store.file_record(SITE, meta["id"]) is None
    assert await store.conversation_file_ids(SITE, conv_id) == []


async def test_uploads_no_message_used_go_after_a_day(parts: tuple[Store, Files]) -> None:
    store, files = parts
    _, conv_id = await store.open_conversation(SITE, "v_2", T0)
    unused = await files.upload(SITE, "visitor:v_2", "", "x.txt", b"never sent", limited=False)
    used = await files.upload(SITE, "visitor:v_2", "", "y.txt", b"sent", limited=False)
    meta = await files.for_message(SITE, used["id"], "c2")
    msg = Outgoing(SITE, conv_id, "visitor", "v_2", "V", "c2", "", T0, used["id"], meta)
    await store.send_message(msg)
    assert await PendingCleanup(files, lambda: T0 + 3600_000).tick() == 0  # not a day yet
    assert await PendingCleanup(files, lambda: T0 + DAY_MS + 1).tick() == 1
    assert await files.storage.get(object_key(SITE, unused["id"])) is None
    assert await store.file_record(SITE, unused["id"]) is None
    assert await files.storage.get(object_key(SITE, used["id"])) == b"sent"
