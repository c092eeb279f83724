"""Files of canned responses: attached on the admin page with the chat uploads' checks, sent
by an agent as a copy the conversation owns, never deleted by a conversation's deletion
(erasure, retention) or the unused-uploads cleanup, deleted with the canned response."""

from __future__ import annotations

import asyncio
import io
import secrets
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from chatserver.config import Settings
from chatserver.core.retention import DAY_MS
from chatserver.embedded_redis import EmbeddedRedis
from chatserver.files import canned
from chatserver.files.cleanup import PendingCleanup
from chatserver.files.service import Files
from chatserver.files.storage import object_key
from chatserver.messages import Outgoing
from chatserver.retention import Retention
from chatserver.store import Store
from tests import client as cl
from tests.integration import files_support as fs
from tests.integration.account_support import get
from tests.integration.security_support import Reply, http
from tests.integration.test_api import cli_key
from tests.servers import LiveServer, run_async

SITE = "demo"
MAX_BYTES = 300_000
ENV = {"CHATSERVER_FILE_MAX_BYTES": str(MAX_BYTES)}
CANNED = f"/admin/sites/{SITE}/canned"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


@pytest.fixture
def live(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[LiveServer]:
    servers = LiveServer(redis_server, tmp_path / "server")
    servers.start_node(ENV)
    yield servers
    servers.stop()


def multipart_post(
    base: str, path: str, token: str, fields: dict[str, str], file: tuple[str, bytes] | None
) -> Reply:
    """The admin page's form as a browser posts it (multipart, with the CSRF pair)."""
    boundary = secrets.token_hex(12)
    parts: list[bytes] = []
    for name, value in {**fields, "csrf_token": "t"}.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(head.encode() + value.encode() + b"\r\n")
    filename, data = file if file is not None else ("", b"")
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    parts.append(head.encode("utf-8") + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Authorization": f"Bearer {token}",
        "Cookie": "cs_csrf=t",
    }
    req = urllib.request.Request(base + path, data=body, headers=headers)
    try:
        resp = _opener.open(req, timeout=15)
        status, msg, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        status, msg, raw = exc.code, exc.headers, exc.read()
    return Reply(status, msg, raw.decode("utf-8", "replace"))


def save(
    live: LiveServer, token: str, shortcut: str, text: str, file: tuple[str, bytes] | None
) -> Reply:
    return multipart_post(live.base_url, CANNED, token, {"shortcut": shortcut, "text": text}, file)


def stored_files(live: LiveServer) -> set[str]:
    folder = live.data_dir / "files" / SITE
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def canned_meta(live: LiveServer) -> dict[str, dict[str, Any]]:
    async def read() -> dict[str, dict[str, Any]]:
        store = Store.from_url(live.redis_url)
        try:
            return await store.canned_files(SITE)
        finally:
            await store.close()

    result: dict[str, dict[str, Any]] = run_async(read())
    return result


def pick(live: LiveServer, session: str, conv_id: str, shortcut: str) -> fs.Reply:
    return fs.request(
        f"{live.base_url}/api/console/conversations/{conv_id}/canned/{shortcut}/file",
        b"",
        {"Authorization": f"Bearer {session}"},
    )


async def test_the_admin_attaches_files_with_the_chat_uploads_checks(
    live: LiveServer, tmp_path: Path
) -> None:
    live.add_agent("root@example.com", name="Root", role="admin")
    root = live.login("root@example.com")
    name = "فهرست قیمت.pdf"
    done = save(live, root, "prices", "Our price list is attached.", (name, fs.pdf()))
    assert done.status == 303, done.body[:500]
    photo = fs.png(900, 600, comment="secret")
    assert save(live, root, "map", "Here is how to find us.", ("map.png", photo)).status == 303
    page = get(live.base_url, CANNED, root)
    assert page.status == 200
    assert name in page.body and "application/pdf" in page.body
    assert f"{len(fs.pdf())} B" in page.body and 'data-testid="canned-file-remove"' in page.body

    metas = canned_meta(live)
    assert metas["prices"]["name"] == name and metas["prices"]["size"] == len(fs.pdf())
    # The image was re-encoded as chat images are: its comment is gone, a thumbnail is kept.
    image_id = metas["map"]["id"]
    assert stored_files(live) == {metas["prices"]["id"], image_id, f"{image_id}.thumb"}
    kept = (live.data_dir / "files" / SITE / image_id).read_bytes()
    assert "Comment" not in Image.open(io.BytesIO(kept)).info
    assert metas["map"]["thumb"] and (metas["map"]["width"], metas["map"]["height"]) == (900, 600)

    # Refused as a chat upload is, with the same codes; nothing is saved.
    for filename, data, status, code in (
        ("x.svg", fs.SVG_WITH_SCRIPT, 415, "file_type_refused"),
        ("x.html", fs.HTML_PAGE, 415, "file_type_refused"),
        ("big.txt", b"a" * (MAX_BYTES + 1), 413, "file_too_large"),
    ):
        refused = save(live, root, "bad", "text", (filename, data))
        assert refused.status == status and code in refused.body, (filename, refused.status)
    assert "bad" not in canned_meta(live)
    assert "/bad" not in get(live.base_url, CANNED, root).body

    # Saving the text alone keeps the file; an agent without the admin role changes nothing.
    assert save(live, root, "prices", "The price list, as promised.", None).status == 303
    assert canned_meta(live)["prices"]["id"] == metas["prices"]["id"]
    live.add_agent("sara@example.com", name="Sara")
    sara = live.login("sara@example.com")
    assert save(live, sara, "prices", "hijacked", ("y.pdf", fs.pdf("other"))).status == 403

    # The console's list and the REST API's show name, type and size, never the id or a URL.
    listed = fs.request(
        f"{live.base_url}/api/console/canned", headers={"Authorization": f"Bearer {sara}"}
    ).json()["items"]
    by_shortcut = {i["shortcut"]: i for i in listed}
    assert by_shortcut["prices"]["file"] == {
        "name": name,
        "type": "application/pdf",
        "size": len(fs.pdf()),
    }
    assert by_shortcut["prices"]["text"] == "The price list, as promised."
    key = cli_key(live, tmp_path, "read", "add", "--name", "CRM", "--site", SITE)
    rest = await asyncio.to_thread(cl.rest, live.base_url, key, "GET", "/api/v1/canned_responses")
    assert {i["shortcut"]: i.get("file") for i in rest["items"]} == {
        "map": {"name": "map.png", "type": "image/png", "size": len(kept)},
        "prices": {"name": name, "type": "application/pdf", "size": len(fs.pdf())},
    }

    # Replacing the file deletes the old bytes; removing it deletes the new ones.
    assert save(live, root, "prices", "New prices.", ("prices.pdf", fs.pdf("v2"))).status == 303
    new_id = canned_meta(live)["prices"]["id"]
    assert stored_files(live) == {new_id, image_id, f"{image_id}.thumb"}
    removed = http(
        live.base_url,
        f"{CANNED}/file/remove",
        {"shortcut": "prices", "csrf_token": "t"},
        token=root,
        cookies={"cs_csrf": "t"},
    )
    assert removed.status == 303
    assert stored_files(live) == {image_id, f"{image_id}.thumb"}
    assert "prices" not in canned_meta(live)
    assert "New prices." in get(live.base_url, CANNED, root).body  # the text stays
    # Deleting the canned response deletes its file.
    deleted = http(
        live.base_url,
        f"{CANNED}/delete",
        {"shortcut": "map", "csrf_token": "t"},
        token=root,
        cookies={"cs_csrf": "t"},
    )
    assert deleted.status == 303
    assert stored_files(live) == set() and canned_meta(live) == {}


async def test_an_agents_pick_sends_a_copy_that_erasure_deletes_alone(
    live: LiveServer, tmp_path: Path
) -> None:
    live.add_agent("root@example.com", name="Root", role="admin")
    root = live.login("root@example.com")
    assert save(live, root, "prices", "قیمت‌ها پیوست است.", ("قیمت.pdf", fs.pdf())).status == 303
    assert save(live, root, "map", "The map.", ("map.png", fs.png(400, 300))).status == 303
    assert save(live, root, "hi", "Hello!", None).status == 303
    originals = stored_files(live)

    live.add_agent("sara@example.com", name="Sara")
    session = live.login("sara@example.com")
    agent, _ = await cl.agent(live.ws_url, session)
    v, _ = await cl.visitor(live.ws_url, email="reza@example.com")
    await v.send({"type": "message", "client_id": "q", "text": "price list?"})
    conv_id = (await v.expect("ack"))["conversation_id"]
    await agent.expect("assigned")

    made = pick(live, session, conv_id, "prices")
    assert made.status == 201, made.body
    copy = made.json()["file"]
    assert copy["name"] == "قیمت.pdf" and copy["type"] == "application/pdf"
    assert copy["id"] != canned_meta(live)["prices"]["id"]
    frame = {"type": "message", "conversation_id": conv_id, "client_id": "p"}
    await agent.send({**frame, "text": "قیمت‌ها پیوست است.", "file": copy["id"]})
    await agent.expect("ack", lambda f: f["client_id"] == "p")
    got = await v.expect("message", lambda f: f.get("client_id") == "p")
    assert got["text"] == "قیمت‌ها پیوست است." and got["file"]["id"] == copy["id"]
    download = fs.request(live.base_url + got["file"]["url"])
    assert download.status == 200 and download.body == fs.pdf()
    # A copy is one upload like any other: once sent it cannot be sent again.
    await agent.send({**frame, "client_id": "p2", "text": "again", "file": copy["id"]})
    assert (await agent.expect("error", lambda f: f.get("ref") == "p2"))["code"] == "file_in_use"

    # An image comes with its thumbnail.
    image = pick(live, session, conv_id, "map").json()["file"]
    assert image["thumb"] and (image["width"], image["height"]) == (400, 300)
    await agent.send({**frame, "client_id": "m", "text": "The map.", "file": image["id"]})
    shown = (await v.expect("message", lambda f: f.get("client_id") == "m"))["file"]
    thumb = fs.request(live.base_url + shown["thumb"])
    assert thumb.status == 200 and thumb.headers["Content-Type"] == "image/webp"

    # Refusals: no file, no such response, someone else's chat, a session cookie without CSRF.
    for shortcut in ("hi", "nothing", "Bad.Name"):
        refused = pick(live, session, conv_id, shortcut)
        assert refused.status == 404 and refused.json()["error"] == "canned_file_not_found"
    live.add_agent("omid@example.com", name="Omid")
    omid = live.login("omid@example.com")
    assert pick(live, omid, conv_id, "prices").json()["error"] == "forbidden"
    assert pick(live, session, "c_nope", "prices").json()["error"] == "not_found"
    no_csrf = fs.request(
        f"{live.base_url}/api/console/conversations/{conv_id}/canned/prices/file",
        b"",
        {"Cookie": f"cs_session={session}"},
    )
    assert no_csrf.status == 403 and no_csrf.json()["error"] == "forbidden"

    # Erasing the visitor deletes the conversation's copies and never the canned files.
    key = cli_key(live, tmp_path, "admin", "add", "--name", "DPO", "--site", SITE)
    body = {"email": "reza@example.com"}
    await asyncio.to_thread(cl.rest, live.base_url, key, "POST", "/api/v1/privacy/erase", body)
    assert stored_files(live) == originals
    assert fs.request(live.base_url + got["file"]["url"]).status == 404
    v2, _ = await cl.visitor(live.ws_url)
    await v2.send({"type": "message", "client_id": "q2", "text": "and the map?"})
    conv2 = (await v2.expect("ack"))["conversation_id"]
    await agent.expect("assigned", lambda f: f["conversation"]["id"] == conv2)
    assert pick(live, session, conv2, "map").status == 201  # still there to copy
    for c in (v, v2, agent):
        await c.close()


@pytest.fixture
async def parts(redis_server: EmbeddedRedis, tmp_path: Path) -> AsyncIterator[tuple[Store, Files]]:
    store = Store.from_url(redis_server.url)
    await store.update_site(SITE, {"name": "Demo", "retention_days": "7"})
    files = Files(store, Settings(data_dir=tmp_path, secret_key="k" * 40), lambda: T0)
    yield store, files
    await store.close()


T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


async def test_retention_and_the_cleanup_leave_canned_files(parts: tuple[Store, Files]) -> None:
    store, files = parts
    meta = await canned.attach(files, SITE, "logo", "Our logo.", "logo.png", fs.png())
    keys = [object_key(SITE, meta["id"]), object_key(SITE, meta["id"], thumb=True)]
    _, conv_id = await store.open_conversation(SITE, "v_1", T0)
    sent = await canned.for_message(files, SITE, "logo", "visitor:v_1", conv_id)
    unused = await canned.for_message(files, SITE, "logo", "visitor:v_1", conv_id)
    stored_meta = await files.for_message(SITE, sent["id"], "c1")
    await store.send_message(
        Outgoing(SITE, conv_id, "visitor", "v_1", "V", "c1", "logo", T0, sent["id"], stored_meta)
    )
    await store.resolve(SITE, conv_id, "visitor", "v_1", "V", T0 + 1000)
    # A pick never sent is an unused upload: the cleanup deletes that copy, not the original.
    assert await PendingCleanup(files, lambda: T0 + DAY_MS + 1).tick() == 1
    assert await files.storage.get(object_key(SITE, unused["id"])) is None
    retention = Retention(store, store.get_site, lambda: T0, "n1")
    retention.forget_files = files.forget_conversation
    assert (await retention.run_site(SITE, T0 + 8 * DAY_MS)).conversations == 1
    assert not await files.storage.exists(object_key(SITE, sent["id"]))
    assert all([await files.storage.exists(k) for k in keys])
    assert (await store.canned_file(SITE, "logo") or {}).get("id") == meta["id"]
    await canned.delete(files, SITE, "logo")
    assert not any([await files.storage.exists(k) for k in keys])
    assert await store.canned_responses(SITE) == {} and await store.canned_files(SITE) == {}
