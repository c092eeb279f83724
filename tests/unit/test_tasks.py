"""Background keeps what it starts, survives a failing step and stops everything."""

from __future__ import annotations

import asyncio
import gc

from chatserver.tasks import Background


async def test_a_task_nobody_else_references_runs_to_its_end() -> None:
    bg, done = Background(), asyncio.Event()

    async def work() -> None:
        await asyncio.sleep(0.01)
        done.set()

    bg.spawn(work())
    gc.collect()
    await asyncio.wait_for(done.wait(), 5)
    await asyncio.sleep(0)
    assert len(bg) == 0


async def test_a_failing_step_does_not_stop_the_next() -> None:
    bg, calls = Background(), []
    third = asyncio.Event()

    async def step() -> None:
        calls.append(1)
        if len(calls) == 3:
            third.set()
        raise OSError("redis went away")

    bg.every(0.001, step)
    await asyncio.wait_for(third.wait(), 5)
    await bg.stop()
    assert len(bg) == 0


async def test_stop_cancels_what_is_running() -> None:
    bg, started = Background(), asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = bg.spawn(forever())
    await started.wait()
    await bg.stop()
    assert task.cancelled()
