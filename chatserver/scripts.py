"""Lua scripts and the pipelined runner that sends them.

Calls made in the same event-loop turn go to Redis in one pipeline (one round trip), each
still answered on its own future. That is how the hot path stays at one round trip or fewer
per message under load.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError

if TYPE_CHECKING:
    from chatserver.durability import Promise

SCRIPT_NAMES = (
    "send",
    "open",
    "claim",
    "resolve",
    "agent_status",
    # the lifecycle: durable timers and the sweeper's repairs
    "timer",
    "grace",
    "repair",
    # the agent console's steps
    "note",
    "transfer",
    "transfer_department",
    "agent_reopen",
    "agent_deactivate",
    "agent_left",
    # the widget's satisfaction rating
    "rate",
    # the supervisors' dashboard: rollups of the latency records, per-minute gauges
    "metrics_fold",
    "metrics_gauge",
    # abuse limits (leases; see core/leases.py)
    "limit",
)

Arg = str | int | float | bytes


def _load(name: str) -> str:
    lib = resources.files("chatserver.lua").joinpath("_lib.lua").read_text(encoding="utf-8")
    body = resources.files("chatserver.lua").joinpath(f"{name}.lua").read_text(encoding="utf-8")
    return lib + "\n" + body


class Script:
    __slots__ = ("name", "sha", "source")

    def __init__(self, name: str) -> None:
        self.name = name
        self.source = _load(name)
        self.sha = hashlib.sha1(self.source.encode("utf-8")).hexdigest()


class NotDurable(RedisError):
    """The calls ran, but the durability wait (WAIT/WAITAOF) did not confirm them in time."""


class ScriptRunner:
    """Runs scripts by SHA in pipelines, loading them again after a Redis restart.

    One pipeline is in flight at a time: calls made while it travels wait for the next one,
    so batches grow with the load (one round trip carries many messages) and scripts run in
    Redis in exactly the order they were called. Callers rely on that order: the messages of
    one socket are stored in the order they arrived.
    """

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        # Set at start (chatserver/durability.py): the wait that ends every pipeline, so no
        # caller learns of a write before it holds as promised.
        self.promise: Promise | None = None
        self.scripts = {name: Script(name) for name in SCRIPT_NAMES}
        self._pending: list[tuple[Script, Sequence[str], Sequence[Arg], asyncio.Future[Any]]] = []
        self._scheduled = False
        self._in_flight = False
        self.round_trips = 0

    async def load_all(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        for script in self.scripts.values():
            pipe.script_load(script.source)
        await pipe.execute()

    def run(self, name: str, keys: Sequence[str], args: Sequence[Arg]) -> asyncio.Future[Any]:
        """Queue a script call for this loop turn's pipeline; await the returned future."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending.append((self.scripts[name], keys, args, fut))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return fut

    def _flush(self) -> None:
        self._scheduled = False
        if self._in_flight or not self._pending:
            return  # the batch in flight flushes the rest when it returns
        batch, self._pending = self._pending, []
        self._in_flight = True
        asyncio.get_running_loop().create_task(self._execute(batch))

    def _done(self) -> None:
        self._in_flight = False
        if self._pending and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def _execute(
        self, batch: list[tuple[Script, Sequence[str], Sequence[Arg], asyncio.Future[Any]]]
    ) -> None:
        try:
            await self._execute_batch(batch)
        finally:
            # Whatever ended the batch (an error outside the pipeline's own handling, a
            # cancellation), no caller may wait forever: a send would never be answered.
            for *_, fut in batch:
                if not fut.done():
                    fut.set_exception(RedisConnectionError("the call's pipeline did not finish"))
            self._done()

    async def _execute_batch(
        self, batch: list[tuple[Script, Sequence[str], Sequence[Arg], asyncio.Future[Any]]]
    ) -> None:
        try:
            results = await self._pipeline(batch)
            retry = [
                (item, i) for i, item in enumerate(batch) if isinstance(results[i], NoScriptError)
            ]
            if retry:
                # Redis restarted (or was flushed) and forgot the scripts: load and re-run only
                # those; a NOSCRIPT reply means the script did not run, so this cannot store twice.
                await self.load_all()
                again = await self._pipeline([item for item, _ in retry])
                for (_, i), res in zip(retry, again, strict=True):
                    results[i] = res
        except Exception as exc:  # connection lost, timeout: every caller learns it
            for *_, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for (*_, fut), res in zip(batch, results, strict=True):
            if fut.done():
                continue
            if isinstance(res, Exception):
                fut.set_exception(res)
            else:
                fut.set_result(res)

    async def _pipeline(
        self, batch: Sequence[tuple[Script, Sequence[str], Sequence[Arg], asyncio.Future[Any]]]
    ) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for script, keys, args, _ in batch:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        promise = self.promise
        if promise is not None and promise.wait:
            pipe.execute_command(*promise.wait)
        self.round_trips += 1
        results: list[Any] = await pipe.execute(raise_on_error=False)
        if promise is not None and promise.wait:
            reply = results.pop()
            if isinstance(reply, Exception) or not promise.satisfied(reply):
                # Written, but not yet as promised: nobody is told it was stored. A retry
                # with the same client id finds it and is acknowledged then.
                failure = NotDurable(f"{promise.wait[0]} answered {reply!r}")
                return [failure for _ in results]
        return [
            NoScriptError(str(r)) if isinstance(r, ResponseError) and "NOSCRIPT" in str(r) else r
            for r in results
        ]
