"""A real SMTP server on loopback for the tests (aiosmtpd), collecting what it accepts.

``SmtpServer`` runs aiosmtpd's controller on a thread, on a free port. ``stop()`` and
``start()`` again (on the same port) model an outage; ``hold()`` makes it take a message's
data and then stall without answering (a node killed in the middle of a send), until
``release()``. Messages are counted by Message-ID, so a test can tell a re-send. Recipients
whose address starts with ``bounce`` are refused with a 550.
"""

from __future__ import annotations

import asyncio
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from chatserver.embedded_redis import free_port


class _Handler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        # An address that starts with "bounce" does not exist: a permanent refusal.
        if address.startswith("bounce"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.owner.holding.is_set():
            self.owner.held.set()
            # Stall until released, then answer "try again": the data was never accepted.
            await asyncio.to_thread(self.owner.unheld.wait)
            return "421 closing, try again"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self.owner.lock:
            self.owner.messages.append(msg)
        return "250 OK"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.holding = threading.Event()
        self.held = threading.Event()
        self.unheld = threading.Event()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def hold(self) -> None:
        self.held.clear()
        self.unheld.clear()
        self.holding.set()

    def release(self) -> None:
        self.holding.clear()
        self.unheld.set()

    def by_message_id(self) -> dict[str, int]:
        with self.lock:
            counts: dict[str, int] = {}
            for msg in self.messages:
                counts[str(msg["Message-ID"])] = counts.get(str(msg["Message-ID"]), 0) + 1
            return counts

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; returns them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")

    def env(self) -> dict[str, str]:
        """The server settings that send mail here."""
        return {
            "CHATSERVER_SMTP_HOST": "127.0.0.1",
            "CHATSERVER_SMTP_PORT": str(self.port),
            "CHATSERVER_SMTP_TLS": "none",
            "CHATSERVER_MAIL_FROM": "support@chat.test",
            "CHATSERVER_MAIL_RETRY_BASE_MS": "200",
        }
