"""Background tasks that are kept, watched and stopped.

The event loop holds only weak references to tasks: one nobody references can be collected
mid-flight. :class:`Background` keeps every task it starts until it ends, logs failures
(Redis or network trouble as a warning, anything else as an error) and cancels them all on
:meth:`Background.stop`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from redis.exceptions import RedisError

from chatserver.log import get_logger

log = get_logger(__name__)

Step = Callable[[], Coroutine[Any, Any, Any]]


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def every(self, seconds: float, step: Step) -> asyncio.Task[Any]:
        """Run ``step`` every ``seconds`` (after the first wait) until stopped; a step that
        fails is logged and the next one runs on time."""
        return self.spawn(self._every(seconds, step), name=f"every-{step.__name__}")

    async def stop(self, timeout: float = 5.0) -> None:
        """Cancel every task and wait (at most ``timeout`` seconds) for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            if isinstance(exc, RedisError | OSError):
                log.warning("background_step_failed", task=task.get_name(), error=str(exc))
            else:
                log.error("background_task_failed", task=task.get_name(), error=repr(exc))

    @staticmethod
    async def _every(seconds: float, step: Step) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await step()
            except (RedisError, OSError) as exc:
                log.warning("periodic_step_failed", step=step.__name__, error=str(exc))
            except Exception:
                log.exception("periodic_step_crashed", step=step.__name__)
