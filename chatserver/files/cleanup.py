"""Uploads that no message carried are deleted a day later (a visitor who uploaded and then
closed the tab, a retry that uploaded the same file twice).

Every node runs it every ten minutes; two nodes on the same upload are harmless: the record
is dropped by a script that first checks no message has claimed it, and only the node whose
drop succeeded deletes the bytes (deleting them twice would be harmless too).
"""

from __future__ import annotations

from collections.abc import Callable

from chatserver.files.service import Files
from chatserver.log import get_logger
from chatserver.tasks import Background

log = get_logger(__name__)

UNUSED_FOR_MS = 24 * 3600 * 1000
INTERVAL_S = 600
BATCH = 200
MAX_BATCHES = 10  # per site and pass: 12,000 an hour


class PendingCleanup:
    def __init__(self, files: Files, clock: Callable[[], int]) -> None:
        self.files = files
        self.clock = clock
        self._loops = Background()

    def start(self) -> None:
        self._loops.every(INTERVAL_S, self.tick)

    async def stop(self) -> None:
        await self._loops.stop()

    async def tick(self) -> int:
        """Delete the uploads left unused for a day on every site; returns how many."""
        store, deleted = self.files.store, 0
        before = self.clock() - UNUSED_FOR_MS
        for site in await store.list_sites():
            for _ in range(MAX_BATCHES):
                stale = await store.stale_pending_files(site, before, BATCH)
                for file_id in stale:
                    if await store.drop_pending_file(site, file_id):
                        await self.files.delete_bytes(site, [file_id])
                        deleted += 1
                if len(stale) < BATCH:
                    break
        if deleted:
            log.info("unused_uploads_deleted", files=deleted)
        return deleted
