"""The mail sender every node runs: it claims due mail under a lease and sends it.

What is promised (docs/decisions.md, "Outgoing e-mail"): at least once, with a lease. A mail
is claimed in one step that moves it from the site's due set to its leases set; the node
sends it and then answers (sent, retry at a later time, failed) in a step that only the
lease's holder may take. A node that dies (SIGKILL, power) before it answers stops holding
the lease when it expires, and the next node to look claims the mail again. So a mail is
sent twice only when its node dies (or is cut off from Redis past the lease) after the SMTP
server's 250 and before the answer reached Redis; the re-send carries the same Message-ID,
by which a receiving server or mail client can tell the copy. The SMTP timeout is kept
shorter than the lease (config.py refuses otherwise), so a live sender never outlasts it.

While the SMTP server is down (or answers 4xx), a mail is retried with exponential backoff
and jitter (chatserver.core.backoff) until ``CHATSERVER_MAIL_GIVE_UP_S`` after it was
queued; a 5xx refusal fails it at once. Failed mail stays on the Outbox page with its error.
With no ``CHATSERVER_SMTP_HOST`` a mail is "delivered" to the local outbox: it is kept in
Redis with the status ``outbox`` for the admin pages to show.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable

from redis.exceptions import RedisError

from chatserver.config import Settings
from chatserver.core.backoff import retry_delay_ms, should_give_up
from chatserver.log import get_logger
from chatserver.mail.transport import FAILED, RETRY, SENT, build_message, send_smtp
from chatserver.store import Store
from chatserver.tasks import Background

log = get_logger(__name__)

POLL_SECONDS = 0.5
BATCH = 20  # per site and round: other sites' mail waits one round at most
RETRY_CAP_MS = 600_000


class MailSender:
    def __init__(
        self, store: Store, settings: Settings, node: str, clock: Callable[[], int]
    ) -> None:
        self.store, self.settings, self.node, self.clock = store, settings, node, clock
        self.lease_ms = settings.mail_lease_s * 1000
        self._tasks = Background()
        self._wake = asyncio.Event()
        self.sent = self.failed = 0

    @property
    def smtp(self) -> bool:
        """Whether mail goes to an SMTP server (else it stays in the local outbox)."""
        return bool(self.settings.smtp_host)

    async def start(self) -> None:
        self._tasks.spawn(self._loop(), name="mail-sender")

    async def stop(self) -> None:
        await self._tasks.stop()

    def wake(self) -> None:
        """Look for mail now (this node just queued some)."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                busy = await self.round()
            except (RedisError, OSError) as exc:
                log.warning("mail_round_failed", error=str(exc)[:200])
                busy = False
            except Exception as exc:  # one bad mail must not stop this node's sender
                log.exception("mail_round_crashed", error=repr(exc)[:200])
                busy = False
            if not busy:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    async def round(self) -> bool:
        """Try every site's due mail once; True when a site had a full batch."""
        busy = False
        for site in await self.store.list_sites():
            ids = await self.store.mail_candidates(site, self.clock(), BATCH)
            for mail_id in dict.fromkeys(ids):
                await self._one(site, mail_id)
            busy = busy or len(ids) >= BATCH
        return busy

    async def _one(self, site: str, mail_id: str) -> None:
        record = await self.store.claim_mail(site, mail_id, self.clock(), self.lease_ms, self.node)
        if record is None:
            return  # another node has it
        bound = log.bind(site=site, mail=mail_id, kind=record.get("kind", ""))
        if not self.smtp:
            await self.store.ack_mail(site, mail_id, self.node, "sent", self.clock(), "outbox", "")
            bound.info("mail_kept_in_outbox", to=record.get("to", ""))
            return
        try:
            message = build_message(record, self.settings.mail_from)
        except (ValueError, TypeError) as exc:  # a header the mail format cannot carry
            outcome, error = FAILED, f"not a valid message: {exc}"[:500]
        else:
            outcome, error = await send_smtp(self.settings, message)
        now = self.clock()
        if outcome == SENT:
            self.sent += 1
            if not await self.store.ack_mail(site, mail_id, self.node, "sent", now, "sent", ""):
                bound.warning("mail_lease_lost_after_send")
            else:
                bound.info("mail_sent", attempts=record.get("attempts", ""))
            return
        created = int(record.get("created_at") or now)
        attempts = int(record.get("attempts") or 1)
        give_up = should_give_up(created, now, self.settings.mail_give_up_s * 1000)
        if outcome == FAILED or give_up:
            self.failed += 1
            line = f"The e-mail to {record.get('to', '')} could not be sent: {error}"[:500]
            await self.store.ack_mail(
                site, mail_id, self.node, "failed", now, "", error, record.get("conv", ""), line
            )
            bound.warning("mail_failed", error=error, attempts=attempts)
            return
        assert outcome == RETRY
        delay = retry_delay_ms(
            attempts, self.settings.mail_retry_base_ms, RETRY_CAP_MS, random.random()
        )
        await self.store.ack_mail(site, mail_id, self.node, "retry", now, now + delay, error)
        bound.info("mail_retry", error=error, attempts=attempts, delay_ms=delay)
