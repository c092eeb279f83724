"""Attachments over real sockets and HTTP: uploaded, sent as messages, downloaded through
signed URLs; hostile files refused or neutralised (docs/protocol.md, "Files")."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from chatserver.embedded_redis import EmbeddedRedis
from chatserver.files.links import Links
from tests import client as cl
from tests.integration import files_support as fs
from tests.servers import SECRET, LiveServer

ENV = {
    "CHATSERVER_FILE_MAX_BYTES": "300000",
    "CHATSERVER_LIMIT_EXEMPT": "",  # the hourly limits apply to the test's own address
    "CHATSERVER_FILES_PER_HOUR": "6",
    "CHATSERVER_LIMIT_CONVERSATIONS_PER_IP": "50",
}


@pytest.fixture
def live(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[LiveServer]:
    servers = LiveServer(redis_server, tmp_path / "server")
    servers.start_node(ENV)
    yield servers
    servers.stop()


async def _chat(live: LiveServer) -> tuple[cl.Client, cl.Client, str, str]:
    """A visitor whose first message was taken by agent Sara: (visitor, agent, conv, session)."""
    live.add_agent("sara@example.com", name="Sara")
    session = live.login("sara@example.com")
    agent, _ = await cl.agent(live.ws_url, session)
    v, _ = await cl.visitor(live.ws_url)
    await v.send({"type": "message", "client_id": "hi", "text": "سلام"})
    conv_id = (await v.expect("ack"))["conversation_id"]
    await agent.expect("assigned")
    await agent.expect("synced")
    return v, agent, conv_id, session


def _get(live: LiveServer, url: str) -> fs.Reply:
    return fs.request(live.base_url + url)


async def test_image_and_pdf_both_ways(live: LiveServer) -> None:
    v, agent, conv_id, session = await _chat(live)
    assert v.token
    # The visitor pastes a screenshot: its name is whatever the browser made up.
    up = fs.visitor_upload(live.base_url, v.token, "image.png", fs.png(640, 480, "hidden"))
    assert up.status == 201, up.body
    meta = up.json()["file"]
    assert meta["type"] == "image/png" and (meta["width"], meta["height"]) == (640, 480)
    await v.send({"type": "message", "client_id": "shot", "file": meta["id"]})
    ack = await v.expect("ack", lambda f: f["client_id"] == "shot")
    seen = await agent.expect("message", lambda f: f.get("client_id") == "shot")
    assert seen["id"] == ack["id"] and seen["text"] == ""
    file = seen["file"]
    assert file["id"] == meta["id"] and file["name"] == "image.png" and file["size"] > 0
    assert file["expires"] > time.time() * 1000

    got = _get(live, file["url"])
    assert got.status == 200 and got.body.startswith(b"\x89PNG")
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    # Re-encoded: the hidden comment is gone, the pixels are the same.
    img = Image.open(io.BytesIO(got.body))
    assert "Comment" not in img.info and img.size == (640, 480)
    thumb = _get(live, file["thumb"])
    assert thumb.status == 200 and thumb.headers["Content-Type"] == "image/webp"
    assert max(Image.open(io.BytesIO(thumb.body)).size) == 320

    # The agent sends an invoice back, with a Persian name.
    name = "فاکتور ۴۲.pdf"
    sent = fs.agent_upload(live.base_url, session, conv_id, name, fs.pdf())
    assert sent.status == 201, sent.body
    pdf_id = sent.json()["file"]["id"]
    frame = {"type": "message", "conversation_id": conv_id, "client_id": "inv"}
    await agent.send({**frame, "text": "بفرمایید", "file": pdf_id})
    await agent.expect("ack", lambda f: f["client_id"] == "inv")
    reply = await v.expect("message", lambda f: f.get("client_id") == "inv")
    assert reply["text"] == "بفرمایید" and reply["file"]["name"] == name
    assert reply["file"]["type"] == "application/pdf" and "thumb" not in reply["file"]
    got = _get(live, reply["file"]["url"])
    assert got.status == 200 and got.body == fs.pdf()
    disposition = got.headers["Content-Disposition"]
    assert "filename*=UTF-8''%D9%81%D8%A7%DA%A9%D8%AA%D9%88%D8%B1" in disposition

    # Sent again after a lost ack (a reconnect): stored once, the same file.
    await v.send({"type": "message", "client_id": "shot", "file": meta["id"]})
    again = await v.expect("ack", lambda f: f["client_id"] == "shot")
    assert again["duplicate"] and again["id"] == ack["id"]
    # Replay after a reload shows each file once, with fresh URLs.
    token = v.token
    await v.close()
    v2, _ = await cl.visitor(live.ws_url, token=token, cursor="0-0")
    await v2.expect("synced")
    files = [f["file"]["id"] for f in v2.of_type("message") if "file" in f]
    assert files == [meta["id"], pdf_id]
    # The REST transcript of the console carries them too.
    history = fs.request(
        f"{live.base_url}/api/console/conversations/{conv_id}/messages",
        headers={"Authorization": f"Bearer {session}"},
    ).json()
    assert [m["file"]["id"] for m in history["messages"] if "file" in m] == [meta["id"], pdf_id]
    # Fresh URLs for a long-open page: the visitor's and the agent's.
    fresh = fs.request(
        f"{live.base_url}/api/widget/files/{pdf_id}?site=demo",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert fresh.status == 200 and _get(live, fresh.json()["file"]["url"]).status == 200
    fresh = fs.request(
        f"{live.base_url}/api/console/files/{meta['id']}",
        headers={"Authorization": f"Bearer {session}"},
    )
    assert fresh.status == 200 and fresh.json()["file"]["thumb"]
    await v2.close()
    await agent.close()


async def test_hostile_files_are_refused(live: LiveServer) -> None:
    v, _ = await cl.visitor(live.ws_url)
    assert v.token
    for name, data in (
        ("cat.svg", fs.SVG_WITH_SCRIPT),
        ("cat.png", fs.SVG_WITH_SCRIPT),
        ("photo.png", fs.HTML_PAGE),  # an HTML file named .png
        ("setup.exe", b"MZ\x90\x00" + bytes(200)),
        ("page.txt", b"   <html><script>alert(1)</script>"),
    ):
        res = fs.visitor_upload(live.base_url, v.token, name, data)
        assert (res.status, res.json()["error"]) == (415, "file_type_refused"), name
    big = fs.visitor_upload(live.base_url, v.token, "big.pdf", b"%PDF-1.4\n" + bytes(300_000))
    assert (big.status, big.json()["error"]) == (413, "file_too_large")
    assert big.json()["max_bytes"] == 300_000
    # A decompression bomb: a small file that claims a huge canvas.
    bomb = fs.visitor_upload(live.base_url, v.token, "bomb.png", fs.png(9000, 9000))
    assert (bomb.status, bomb.json()["error"]) == (415, "file_image_too_large")
    # No token, or another site's: refused.
    assert fs.visitor_upload(live.base_url, "v1.x.y.z.w", "a.txt", b"hello").status == 401
    await v.close()


async def test_names_are_corrected_and_metadata_stripped(live: LiveServer) -> None:
    v, agent, _, _ = await _chat(live)
    assert v.token
    # A PDF that claims to be a page, and a name that hides its extension (RLO).
    up = fs.visitor_upload(live.base_url, v.token, "invoice.html", fs.pdf())
    assert up.json()["file"]["name"] == "invoice.pdf"
    up = fs.visitor_upload(live.base_url, v.token, "report\u202efdp.exe", fs.docx())
    assert up.json()["file"]["name"] == "reportfdp.docx"
    assert up.json()["file"]["type"].endswith("wordprocessingml.document")
    # Persian names keep their zero-width non-joiner.
    up = fs.visitor_upload(live.base_url, v.token, "عکس\u200cها", fs.jpeg_with_gps())
    meta = up.json()["file"]
    assert meta["name"] == "عکس\u200cها.jpg"
    await v.send({"type": "message", "client_id": "gps", "file": meta["id"], "text": "x"})
    frame = await agent.expect("message", lambda f: f.get("client_id") == "gps")
    got = _get(live, frame["file"]["url"])
    assert got.body.startswith(b"\xff\xd8") and b"SecretCam" not in got.body
    assert not Image.open(io.BytesIO(got.body)).getexif()
    await v.close()
    await agent.close()


async def test_files_are_scoped_to_their_conversation(live: LiveServer) -> None:
    v, agent, conv_id, _ = await _chat(live)
    assert v.token
    up = fs.visitor_upload(live.base_url, v.token, "a.txt", "متن".encode())
    file_id = up.json()["file"]["id"]
    # Another visitor cannot send it, nor a file that does not exist.
    other, _ = await cl.visitor(live.ws_url)
    assert other.token
    await other.send({"type": "message", "client_id": "x1", "text": "hi"})
    other_conv = (await other.expect("ack"))["conversation_id"]
    await other.send({"type": "message", "client_id": "x2", "file": file_id})
    assert (await other.expect("error"))["code"] == "file_not_found"
    await other.send({"type": "message", "client_id": "x3", "file": "f_doesnotexist"})
    assert (await other.expect("error"))["code"] == "file_not_found"
    await other.send({"type": "message", "client_id": "x4"})
    assert (await other.expect("error"))["code"] == "invalid_field"

    await v.send({"type": "message", "client_id": "t1", "file": file_id})
    await v.expect("ack", lambda f: f["client_id"] == "t1")
    # Used once: a second message cannot carry it.
    await v.send({"type": "message", "client_id": "t2", "file": file_id})
    assert (await v.expect("error"))["code"] == "file_in_use"
    url = (await agent.expect("message", lambda f: f.get("client_id") == "t1"))["file"]["url"]
    assert _get(live, url).body == "متن".encode()

    # Another conversation's URL: its signature does not cover this conversation.
    parts = urlsplit(url)
    q = parse_qs(parts.query)
    moved = f"/files/demo/{other_conv}/{file_id}?e={q['e'][0]}&s={q['s'][0]}"
    res = _get(live, moved)
    assert (res.status, res.json()["error"]) == (403, "file_link_invalid")
    # A URL for the other conversation properly signed still finds no such file there.
    links = Links(SECRET, 900)
    exp = links.expiry(int(time.time() * 1000))
    res = _get(live, links.url("demo", other_conv, file_id, exp))
    assert (res.status, res.json()["error"]) == (404, "file_not_found")
    # A forged signature, an expired URL.
    res = _get(live, url.replace(q["s"][0], "0" * 40))
    assert (res.status, res.json()["error"]) == (403, "file_link_invalid")
    past = int(time.time()) - 5
    res = _get(live, links.url("demo", conv_id, file_id, past))
    assert (res.status, res.json()["error"]) == (403, "file_link_expired")
    # The other visitor cannot get fresh URLs of it either.
    fresh = fs.request(
        f"{live.base_url}/api/widget/files/{file_id}?site=demo",
        headers={"Authorization": f"Bearer {other.token}"},
    )
    assert (fresh.status, fresh.json()["error"]) == (404, "file_not_found")
    await other.close()
    await v.close()
    await agent.close()


async def test_hourly_limit_counts_files_per_visitor(live: LiveServer) -> None:
    v, _ = await cl.visitor(live.ws_url)
    assert v.token
    codes = [
        fs.visitor_upload(live.base_url, v.token, f"{i}.txt", b"note %d" % i).status
        for i in range(7)
    ]
    assert codes == [201] * 6 + [429]
    res = fs.visitor_upload(live.base_url, v.token, "7.txt", b"again")
    assert res.json()["error"] == "file_rate_limited" and int(res.headers["Retry-After"]) > 0
    # Another visitor has their own allowance.
    w, _ = await cl.visitor(live.ws_url)
    assert w.token
    assert fs.visitor_upload(live.base_url, w.token, "w.txt", b"mine").status == 201
    await v.close()
    await w.close()
