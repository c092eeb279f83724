"""The outgoing e-mail queue of each site (chatserver/mail/): mail waiting, being sent under a
node's lease, sent, kept in the local outbox, or failed; and the Outbox page's list."""

from __future__ import annotations

from collections.abc import Mapping

from chatserver.store.base import StoreBase

# The Outbox page's list keeps the newest this many mails of a site; a finished mail's record
# expires after MAIL_KEEP_MS (mail still to be sent never expires).
MAIL_LOG_CAP = 1000
MAIL_KEEP_MS = 30 * 86400 * 1000


class MailStore(StoreBase):
    def _mail_keys(self, site: str, mail_id: str) -> list[str]:
        return [self.k.mail_due(site), self.k.mail_leases(site), self.k.mail(site, mail_id)]

    async def enqueue_mail(
        self,
        site: str,
        mail_id: str,
        fields: Mapping[str, str],
        now: int,
        conv_id: str = "",
        once: str = "",
        mark_waiting: bool = False,
        follow_up_ms: int = 0,
    ) -> tuple[str, str]:
        """Queue a mail; returns ('ok', id), or ('dup', the earlier mail's id) when ``once``
        (a field of the conversation) says it was queued before, or ('gone', '') when that
        conversation does not exist. ``mark_waiting`` marks the conversation as waiting for
        an e-mail reply, and the supervisors are reminded every ``follow_up_ms`` (0: never)
        until an agent writes in it."""
        mail_key = self.k.mail(site, mail_id)
        conv_key = self.k.conversation(site, conv_id) if conv_id else mail_key
        args: list[str | int] = [
            mail_id,
            now,
            once,
            MAIL_LOG_CAP,
            "1" if mark_waiting else "",
            follow_up_ms,
            conv_id,
        ]
        for name, value in fields.items():
            args += [name, value]
        res = await self.scripts.run(
            "mail_enqueue",
            [mail_key, self.k.mail_due(site), self.k.mail_log(site), conv_key, self.k.timers(site)],
            args,
        )
        return str(res[0]), str(res[1])

    async def mail_candidates(self, site: str, now: int, count: int) -> list[str]:
        """Mail due now and mail whose sender's lease ran out, oldest first."""
        due: list[str] = await self.r.zrangebyscore(
            self.k.mail_due(site), "-inf", now, start=0, num=count
        )
        stale: list[str] = await self.r.zrangebyscore(
            self.k.mail_leases(site), "-inf", now, start=0, num=count
        )
        return [*stale, *due]

    async def claim_mail(
        self, site: str, mail_id: str, now: int, lease_ms: int, node: str
    ) -> dict[str, str] | None:
        """The mail's fields when this node now holds it; None when another node does."""
        res = await self.scripts.run(
            "mail_claim", self._mail_keys(site, mail_id), [mail_id, now, lease_ms, node]
        )
        if not res or res[0] != "ok":
            return None
        flat = [str(x) for x in res[1:]]
        return dict(zip(flat[::2], flat[1::2], strict=True))

    async def ack_mail(
        self,
        site: str,
        mail_id: str,
        node: str,
        op: str,
        now: int,
        arg: str | int,
        error: str,
        conv_id: str = "",
        line: str = "",
    ) -> bool:
        """Report a claimed mail sent, to retry at ``arg`` (ms) or failed (``line`` then goes
        to the agents of ``conv_id``); False when this node's lease ran out and another node
        holds the mail now."""
        mail_key = self.k.mail(site, mail_id)
        conv_keys = (
            [self.k.conversation(site, conv_id), self.k.messages(site, conv_id)]
            if conv_id
            else [mail_key, mail_key]
        )
        res = await self.scripts.run(
            "mail_ack",
            [*self._mail_keys(site, mail_id), *conv_keys],
            [
                mail_id,
                node,
                op,
                now,
                arg,
                error[:500],
                MAIL_KEEP_MS,
                self.k.channel(site),
                conv_id,
                line,
            ],
        )
        return bool(res and res[0] == "ok")

    async def mail(self, site: str, mail_id: str) -> dict[str, str] | None:
        data: dict[str, str] = await self.r.hgetall(self.k.mail(site, mail_id))
        return data or None

    async def mail_log(self, site: str, limit: int = 200) -> list[dict[str, str]]:
        """The newest mails first (those whose record expired are left out)."""
        ids: list[str] = await self.r.zrevrange(self.k.mail_log(site), 0, limit - 1)
        records = await self._hgetall_many([self.k.mail(site, i) for i in ids])
        return [r for r in records if r]

    async def mail_counts(self, site: str, now: int) -> dict[str, int]:
        """How many mails wait (due or backing off) and are being sent now."""
        return {
            "waiting": int(await self.r.zcard(self.k.mail_due(site))),
            "sending": int(await self.r.zcount(self.k.mail_leases(site), now, "+inf")),
        }

    async def drop_mail_timer(self, site: str, member: str, due: int) -> None:
        """Drop a conversation's mail timer done at ``due``; one set again since stays."""
        await self.scripts.run("mail_timer_done", [self.k.timers(site)], [member, due])

    async def visitor_here(self, site: str, visitor_id: str, now: int) -> bool:
        """Whether a socket of the visitor is open on some node (its presence not expired)."""
        held: dict[str, str] = await self.r.hgetall(self.k.visitor_presence(site, visitor_id))
        return any(int(until) > now for until in held.values() if until.isdigit())

    async def watch_reply(
        self, site: str, conv_id: str, visitor_id: str, prev_id: str, due: int, now: int
    ) -> bool:
        """Set the conversation's reply-mail step if its visitor is gone and left an e-mail
        (or a burst of replies is under way): one script, so no visitor's return is missed
        between the check and the write. True if the step was set."""
        k = self.k
        res = await self.scripts.run(
            "mail_reply_watch",
            [
                k.conversation(site, conv_id),
                k.timers(site),
                k.visitor_presence(site, visitor_id),
                k.visitor(site, visitor_id),
            ],
            [conv_id, prev_id, due, now],
        )
        return bool(res)

    async def conversation_visitor(self, site: str, conv_id: str) -> str:
        """The conversation's visitor id ('' when there is no such conversation)."""
        found: str | None = await self.r.hget(self.k.conversation(site, conv_id), "visitor")
        return found or ""

    async def reply_done(self, site: str, conv_id: str, mark: str, last_id: str) -> None:
        await self.scripts.run(
            "mail_reply_done",
            [self.k.conversation(site, conv_id), self.k.messages(site, conv_id)],
            [mark, last_id],
        )
