"""Keeps the embedded redis-server alive for `chatserver serve` without REDIS_URL.

When the child dies, it is started again on the same data directory (its append-only file)
and the clients reconnect by themselves; meanwhile sends are answered `unavailable` and
clients retry. If it cannot be started again, `/healthz` says so, so an orchestrator restarts
the whole process instead of keeping a server that serves nothing.
"""

from __future__ import annotations

import asyncio

from chatserver.embedded_redis import EmbeddedRedis
from chatserver.log import get_logger

log = get_logger(__name__)

CHECK_INTERVAL = 0.5  # seconds between looks at the child
# Failed restarts in a row after which the process reports itself unhealthy.
GIVE_UP_AFTER = 5


class RedisSupervisor:
    def __init__(self, embedded: EmbeddedRedis) -> None:
        self.embedded = embedded
        self.restarts = 0
        self.failures = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def healthy(self) -> bool:
        """False once the child could not be restarted GIVE_UP_AFTER times in a row."""
        return self.failures < GIVE_UP_AFTER

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            process = self.embedded.process
            if process is None or process.poll() is None:
                continue
            log.warning("embedded_redis_died", returncode=process.returncode)
            try:
                # Blocking (it waits for the first PING): off the loop.
                await asyncio.to_thread(self.embedded.start)
            except (RuntimeError, OSError) as exc:
                self.failures += 1
                log.warning("embedded_redis_restart_failed", error=str(exc), tries=self.failures)
                await asyncio.sleep(min(30.0, 2.0**self.failures))
                continue
            self.failures = 0
            self.restarts += 1
            log.warning("embedded_redis_restarted", restarts=self.restarts)
