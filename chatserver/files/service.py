"""Accepting an upload: limits, type, image cleaning, storage, then the record.

The order is what makes a half-uploaded file impossible to reference: the bytes are read
whole and checked, written to the storage (a whole object or none), and only then recorded
in Redis; a message can name only a recorded file (lua/send.lua checks the record).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from chatserver.config import Settings
from chatserver.files.images import ImageRefused, reencode
from chatserver.files.links import links_for
from chatserver.files.sniff import FileType, allowed, safe_name, sniff
from chatserver.files.storage import Storage, object_key, storage_for
from chatserver.protocol import ProtocolError
from chatserver.store import Store, new_id

THUMB_TYPE = "image/webp"


@dataclass
class Refused(Exception):
    """An upload or download refused: ``code`` is the protocol's error code."""

    status: int
    code: str
    message: str
    retry_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message, **self.extra}
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        return out


class Files:
    """The attachments of one process: its storage, its URL signer and the upload steps."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Callable[[], int],
        storage: Storage | None = None,
    ) -> None:
        self.store = store
        self.s = settings
        self.clock = clock
        self.storage = storage or storage_for(settings)
        self.links = links_for(settings)
        # Decoding a large image takes memory (4 bytes a pixel): a few at a time per process.
        self._decoding = asyncio.Semaphore(2)

    async def upload(
        self, site: str, owner: str, conv_id: str, claimed_name: str, data: bytes, limited: bool
    ) -> dict[str, Any]:
        """Check, clean and store one upload of ``owner`` ('visitor:<id>' or 'agent:<id>');
        returns the file's metadata (its ``id`` is what a message names). ``limited``: count
        it against the hourly limits. Raises :class:`Refused`."""
        ftype = self.checked_type(data)
        file_id, now = new_id("f"), self.clock()
        if limited and (self.s.files_per_hour or self.s.file_bytes_per_hour):
            wait, which = await self.store.take_file_quota(
                site,
                owner,
                file_id,
                len(data),
                now,
                self.s.files_per_hour,
                self.s.file_bytes_per_hour,
            )
            if wait:
                what = "files" if which == "count" else "bytes of files"
                raise Refused(
                    429,
                    "file_rate_limited",
                    f"too many {what} this hour; retry later",
                    retry_after=max(1.0, wait / 1000) if wait > 0 else 3600.0,
                )
        meta = await self.clean_and_put(site, file_id, claimed_name, ftype, data)
        await self.record(site, file_id, owner, conv_id, ftype.mime, meta, now)
        return meta

    def checked_type(self, data: bytes) -> FileType:
        """The sniffed type of ``data`` if its size and type are accepted; else Refused."""
        if len(data) > self.s.file_max_bytes:
            raise too_large(self.s.file_max_bytes)
        ftype = sniff(data)
        if ftype is None or not allowed(ftype, self.s.file_types):
            raise Refused(415, "file_type_refused", "this type of file is not accepted")
        return ftype

    async def clean_and_put(
        self, site: str, file_id: str, claimed_name: str, ftype: FileType, data: bytes
    ) -> dict[str, Any]:
        """Re-encode an image, write the bytes (and thumbnail) to the storage as ``file_id``;
        returns the metadata a message frame shows. Records nothing in Redis."""
        meta: dict[str, Any] = {"id": file_id, "name": safe_name(claimed_name, ftype)}
        meta["type"] = ftype.mime.split(";")[0]
        thumb = b""
        if ftype.image:
            try:
                async with self._decoding:
                    limit = self.s.image_max_pixels
                    clean = await asyncio.to_thread(reencode, data, ftype.name, limit)
            except ImageRefused as exc:
                raise Refused(415, exc.code, str(exc)) from None
            data, thumb = clean.data, clean.thumb
            meta.update(width=clean.width, height=clean.height, thumb=True)
        meta["size"] = len(data)
        await self.storage.put(object_key(site, file_id), data, ftype.mime)
        if thumb:
            await self.storage.put(object_key(site, file_id, thumb=True), thumb, THUMB_TYPE)
        return meta

    async def record(
        self,
        site: str,
        file_id: str,
        owner: str,
        conv_id: str,
        mime: str,
        meta: dict[str, Any],
        now: int,
    ) -> None:
        """Record stored bytes as ``owner``'s upload, pending until a message carries it."""
        record = {
            "owner": owner,
            "conv": conv_id,
            "msg": "",
            "name": meta["name"],
            "type": mime,
            "size": meta["size"],
            "at": now,
            "meta": orjson.dumps(meta).decode(),
        }
        await self.store.add_file(site, file_id, record, now)

    async def for_message(self, site: str, file_id: str, ref: str) -> str:
        """The metadata (JSON) a message naming ``file_id`` stores with it ('' for none).
        A file not recorded is refused here; whose it is, and whether it is still unused, the
        send script checks in the step that claims it."""
        if not file_id:
            return ""
        record = await self.store.file_record(site, file_id)
        if not record or not record.get("meta"):
            raise ProtocolError("file_not_found", "no such file; upload it first", ref=ref)
        return record["meta"]

    async def content(self, site: str, file_id: str, thumb: bool) -> bytes | None:
        return await self.storage.get(object_key(site, file_id, thumb))

    async def delete_bytes(self, site: str, file_ids: list[str]) -> None:
        for file_id in file_ids:
            await self.storage.delete(object_key(site, file_id))
            await self.storage.delete(object_key(site, file_id, thumb=True))

    async def forget_conversation(self, site: str, conv_id: str) -> int:
        """Delete the files of a conversation retention deleted or erasure tombstoned: the
        bytes first, then the records (a record never names missing bytes)."""
        file_ids = await self.store.conversation_file_ids(site, conv_id)
        if file_ids:
            await self.delete_bytes(site, file_ids)
            await self.store.forget_files(site, conv_id, file_ids)
        return len(file_ids)

    def describe(self, site: str, conv_id: str, meta_json: str) -> dict[str, Any]:
        return self.links.describe(site, conv_id, orjson.loads(meta_json), self.clock())


def too_large(limit: int) -> Refused:
    return Refused(
        413,
        "file_too_large",
        f"a file may have at most {limit} bytes",
        extra={"max_bytes": limit},
    )
