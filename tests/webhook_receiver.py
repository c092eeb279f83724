"""A real webhook receiver on loopback for the tests: records every request, checks its
signature with the function docs/webhooks.md gives receivers, and can be told to fail a
share of requests, answer some slowly, answer one status, or go away and come back."""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chatserver.embedded_redis import free_port

DOC = Path(__file__).resolve().parents[1] / "docs" / "webhooks.md"


def documented_verify() -> Callable[[str, bytes, str, str], bool]:
    """The Python ``verify`` of docs/webhooks.md, as a receiver would copy it."""
    text = DOC.read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify" in b)
    scope: dict[str, Any] = {}
    exec(block, scope)
    verify: Callable[[str, bytes, str, str], bool] = scope["verify"]
    return verify


async def until(condition: Callable[[], bool], what: str = "", timeout: float = 30.0) -> None:
    """Wait for what the receiver's threads record (they cannot wake the event loop)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.02)


class Receiver:
    """Answers ``status`` (500 for the ``fail`` share of requests, drawn from a seeded
    generator; 401 when the signature does not verify); ``slow`` of them after 0.3 s.
    Each request is recorded: id, type, event, body, signed, status."""

    def __init__(self, secret: str = "", fail: float = 0.0, slow: float = 0.0) -> None:
        self.port = free_port()  # kept, so that a restarted receiver is found again
        self.secret, self.fail, self.slow, self.status = secret, fail, slow, 204
        self.rng = random.Random(7)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.verify = documented_verify()
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signed = receiver.verify(
                    receiver.secret,
                    body,
                    self.headers["Chatserver-Timestamp"],
                    self.headers["Chatserver-Signature"],
                )
                with receiver.lock:
                    failed = receiver.rng.random() < receiver.fail
                    slow = receiver.rng.random() < receiver.slow
                    status = 401 if not signed else 500 if failed else receiver.status
                    if not signed:
                        receiver.bad_signatures += 1
                if slow:
                    time.sleep(0.3)
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "id": self.headers["Chatserver-Event-Id"],
                            "type": self.headers["Chatserver-Event-Type"],
                            "event": json.loads(body),
                            "body": body,
                            "signed": signed,
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def accepted(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["status"] < 300]
