"""A small protocol client over the real `websockets` library, for tests and the bench."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import urllib.request
from collections.abc import Callable
from typing import Any

import msgpack
import websockets

_ids = itertools.count(1)


def rest(base: str, key: str, method: str, path: str, body: Any = None) -> Any:
    """One REST API call with an API key (blocking: call it through asyncio.to_thread)."""
    req = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


class Client:
    """Keeps every received frame; ``expect`` waits for the next one that matches."""

    def __init__(self, ws: Any, fmt: str = "json") -> None:
        self.ws = ws
        self.fmt = fmt
        self.frames: list[dict[str, Any]] = []
        self._seen = 0
        self._new = asyncio.Event()
        self.closed_code: int | None = None
        self.token: str | None = None  # a visitor's token from its welcome
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls,
        url: str,
        fmt: str = "json",
        headers: dict[str, str] | None = None,
        origin: str | None = None,
    ) -> Client:
        subprotocols = ["msgpack"] if fmt == "msgpack" else None
        ws = await websockets.connect(
            url,
            subprotocols=subprotocols,  # type: ignore[arg-type]
            additional_headers=headers,
            origin=origin,  # type: ignore[arg-type]
            max_size=2**22,
            compression=None,
        )
        return cls(ws, fmt)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw) if isinstance(raw, str) else msgpack.unpackb(raw, raw=False)
                self.frames.append(frame)
                self._new.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed_code = self.ws.close_code
            self._new.set()

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        if isinstance(frame, dict):
            data: str | bytes = msgpack.packb(frame) if self.fmt == "msgpack" else json.dumps(frame)
        else:
            data = frame
        await self.ws.send(data)

    async def expect(
        self,
        ftype: str | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """The first not-yet-consumed frame of ``ftype`` matching ``where``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for i in range(self._seen, len(self.frames)):
                f = self.frames[i]
                if (ftype is None or f.get("type") == ftype) and (where is None or where(f)):
                    self.frames.pop(i)
                    return f
            self._seen = len(self.frames)
            if self._reader.done():
                raise AssertionError(f"closed ({self.closed_code}) waiting for {ftype}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {ftype}; have {self.frames[-5:]}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), remaining)
            self._seen = 0

    def of_type(self, ftype: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == ftype]

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)


def client_id() -> str:
    return f"m-{next(_ids)}"


async def visitor(
    ws_url: str,
    site: str = "demo",
    token: str | None = None,
    cursor: str | None = None,
    fmt: str = "json",
    **hello: Any,
) -> tuple[Client, dict[str, Any]]:
    """Connect a visitor and say hello; returns (client, welcome frame)."""
    c = await Client.connect(f"{ws_url}/ws/visitor?site={site}", fmt)
    frame: dict[str, Any] = {"type": "hello", **hello}
    if token:
        frame["token"] = token
    if cursor:
        frame["cursor"] = cursor
    await c.send(frame)
    welcome = await c.expect("welcome")
    c.token = welcome["token"]
    return c, welcome


async def agent(
    ws_url: str,
    token: str,
    cursors: dict[str, str] | None = None,
    status: str = "online",
    fmt: str = "json",
) -> tuple[Client, dict[str, Any]]:
    c = await Client.connect(
        f"{ws_url}/ws/agent", fmt, headers={"Authorization": f"Bearer {token}"}
    )
    await c.send({"type": "hello", "cursors": cursors or {}, "status": status})
    welcome = await c.expect("welcome")
    return c, welcome
