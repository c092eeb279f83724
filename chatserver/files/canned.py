"""Files that canned responses send with their text.

An admin's file goes through the same checks as a chat upload (size, sniffed type, the
allow-list, image re-encoding: :class:`~chatserver.files.service.Files`) and is stored once,
under its own id, with its metadata in the canned response's record (keys.canned_files), not
as a file record: no conversation's file set, the unused-uploads cleanup or retention ever
names it, so only replacing, removing or deleting it on the admin page deletes its bytes.

An agent who sends the canned response gets a fresh upload of their own for the conversation,
a copy of those bytes under a new id; the message then claims it through lua/send.lua like
any upload. The copy is what the conversation owns and what its deletion (retention, erasure)
deletes; see docs/decisions.md ("Files of canned responses").
"""

from __future__ import annotations

from typing import Any

import orjson

from chatserver.files.service import THUMB_TYPE, Files, Refused
from chatserver.files.storage import object_key
from chatserver.store import new_id

# Kept in the canned record only: what the bytes are served as (the metadata's ``type`` has
# no parameters such as the charset of a text file).
_MIME = "mime"


def canned_items(
    texts: dict[str, str],
    files: dict[str, dict[str, Any]],
    uses: dict[str, int] | None = None,
    scope: str = "",
) -> list[dict[str, Any]]:
    """Canned responses as the console and the REST API list them: shortcut, text and, for
    those with a file, its name, type and size (no id, no URL: an agent sends a copy); with
    ``uses``, how often each was inserted; with ``scope`` ('shared' | 'personal'), that."""
    out: list[dict[str, Any]] = []
    for shortcut, text in texts.items():
        item: dict[str, Any] = {"shortcut": shortcut, "text": text}
        meta = files.get(shortcut)
        if meta:
            item["file"] = {k: meta.get(k) for k in ("name", "type", "size")}
        if scope:
            item["scope"] = scope
        if uses is not None:
            item["uses"] = uses.get(shortcut, 0)
        out.append(item)
    return out


async def attach(
    files: Files, site: str, shortcut: str, text: str, claimed_name: str, data: bytes
) -> dict[str, Any]:
    """Check and store ``data`` as the file of the canned response ``shortcut`` (saving its
    ``text`` in the same step); the file it replaces is deleted. Raises :class:`Refused`."""
    ftype = files.checked_type(data)
    file_id = new_id("f")
    meta = await files.clean_and_put(site, file_id, claimed_name, ftype, data)
    stored = orjson.dumps({**meta, _MIME: ftype.mime}).decode()
    unused = await files.store.save_canned(site, shortcut, text, "set", stored)
    if unused:
        await files.delete_bytes(site, [unused["id"]])
    return meta


async def remove(files: Files, site: str, shortcut: str) -> bool:
    """Take the file off a canned response (its text stays); False when it had none."""
    unused = await files.store.save_canned(site, shortcut, "", "remove")
    if unused:
        await files.delete_bytes(site, [unused["id"]])
    return unused is not None


async def delete(files: Files, site: str, shortcut: str) -> None:
    """Delete a canned response and its file: the record first, then the bytes (a record
    never names missing bytes for longer than this step)."""
    unused = await files.store.delete_canned(site, shortcut)
    if unused:
        await files.delete_bytes(site, [unused["id"]])


async def for_message(
    files: Files, site: str, shortcut: str, owner: str, conv_id: str
) -> dict[str, Any]:
    """A fresh upload of ``owner`` for ``conv_id`` holding a copy of the canned response's
    file; returns its metadata (its ``id`` is what the message names). Raises Refused."""
    meta = await files.store.canned_file(site, shortcut)
    data = await files.content(site, meta["id"], thumb=False) if meta else None
    if meta is None or data is None:
        raise Refused(404, "canned_file_not_found", "that canned response has no file")
    thumb = await files.content(site, meta["id"], thumb=True) if meta.get("thumb") else None
    mime = str(meta.pop(_MIME, "") or meta.get("type", "application/octet-stream"))
    file_id = new_id("f")
    if thumb is not None:
        await files.storage.put(object_key(site, file_id, thumb=True), thumb, THUMB_TYPE)
    else:
        meta.pop("thumb", None)
    await files.storage.put(object_key(site, file_id), data, mime)
    copy = {**meta, "id": file_id}
    await files.record(site, file_id, owner, conv_id, mime, copy, files.clock())
    return copy
