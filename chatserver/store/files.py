"""Records of uploaded files (their bytes live in the file storage: chatserver/files/)."""

from __future__ import annotations

from collections.abc import Mapping

from chatserver.store.base import StoreBase

HOUR_MS = 3_600_000


class FileStore(StoreBase):
    async def add_file(
        self, site: str, file_id: str, record: Mapping[str, str | int], now: int
    ) -> None:
        """Record a file whose bytes are stored; pending until a message carries it."""
        args: list[str | int] = [file_id, now]
        for field, value in record.items():
            args += [field, value]
        await self.scripts.run(
            "file_add", [self.k.file(site, file_id), self.k.pending_files(site)], args
        )

    async def file_record(self, site: str, file_id: str) -> dict[str, str] | None:
        record: dict[str, str] = await self.r.hgetall(self.k.file(site, file_id))
        return record or None

    async def take_file_quota(
        self,
        site: str,
        uploader: str,
        file_id: str,
        size: int,
        now: int,
        max_files: int,
        max_bytes: int,
    ) -> tuple[int, str]:
        """Count an upload against the uploader's hourly limits: (0, '') when counted, else
        (ms to wait, 'count' | 'bytes'); -1 ms: the file exceeds the whole hourly budget."""
        res = await self.scripts.run(
            "file_quota",
            [self.k.file_quota(site, uploader)],
            [now, file_id, size, max_files, max_bytes, HOUR_MS],
        )
        return (0, "") if int(res[0]) == 0 else (int(res[0]), str(res[1]))

    async def conversation_file_ids(self, site: str, conv_id: str) -> list[str]:
        ids: set[str] = await self.r.smembers(self.k.conversation_files(site, conv_id))
        return sorted(ids)

    async def forget_files(self, site: str, conv_id: str, file_ids: list[str]) -> None:
        keys = [self.k.conversation_files(site, conv_id)]
        keys += [self.k.file(site, f) for f in file_ids]
        await self.scripts.run("file_forget", keys, [])

    async def stale_pending_files(self, site: str, before: int, count: int) -> list[str]:
        ids: list[str] = await self.r.zrangebyscore(
            self.k.pending_files(site), "-inf", before, start=0, num=count
        )
        return ids

    async def drop_pending_file(self, site: str, file_id: str) -> bool:
        """Forget an upload no message used (True: its bytes may be deleted)."""
        res = await self.scripts.run(
            "file_drop_pending",
            [self.k.file(site, file_id), self.k.pending_files(site)],
            [file_id],
        )
        return bool(res)
