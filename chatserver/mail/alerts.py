"""The mail step of a conversation: what a ``mail|<conversation>`` timer asks for.

The lifecycle scripts set that timer, due at once, in the step that makes the change (an
ending in lua/_lib.lua ``finish``, the offline offer in lua/timer.lua ``qto``, an e-mail left
in lua/visitor_update.lua), so a node that dies before the mail is queued leaves the timer
for the next tick. Here the conversation is read as it is now and every mail it calls for is
queued, each at most once per conversation (lua/mail_enqueue.lua keeps that):

- ``offline``: queued, offered the offline form, and the visitor left an e-mail;
- ``missed``: the visitor left before anyone answered;
- ``abandoned``: the visitor left while waiting for an answer and the chat was closed;
- ``transcript``: resolved, on a site that sends transcripts, to a visitor with an e-mail;
- agents' replies to a visitor who has gone (chatserver/mail/replies.py);
- ``agent_ready``: an agent took a chat whose visitor left and whose place was kept
  (lua/claim.lua, or lua/timer.lua ``vgone`` when it was taken within the grace), to the
  visitor if they are still away, once per absence (chatserver/core/keep_place.py).

The first three alert the site's team address (``team_email``) with a link to the console,
and mark a conversation whose visitor left an e-mail as waiting for an e-mail reply
(``awaiting_email_reply``). Then the timer is dropped, unless it was set again meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable

from chatserver.config import Settings
from chatserver.core.keep_place import KEPT_FIELD, ready_mail_once
from chatserver.core.policy import SitePolicy
from chatserver.events import Queue
from chatserver.log import get_logger
from chatserver.mail import render
from chatserver.mail.queue import Mail, queue_mail
from chatserver.mail.replies import ReplyMail
from chatserver.store import Store

log = get_logger(__name__)

# The site setting naming the language of the team's alerts ("en" when unset): the team's,
# which is not the visitors' (the widget's ``locale``).
TEAM_LANGUAGE = "team_language"


def reasons(conv: dict[str, str], visitor: dict[str, str], site: dict[str, str]) -> list[str]:
    """The mails a conversation calls for now (each is sent once, whatever this says later)."""
    status, email = conv.get("status", ""), visitor.get("email", "")
    out = []
    if status == "queued" and conv.get("offline_offered") and email:
        out.append("offline")
    if status == "missed":
        out.append("missed")
    # ">=": on loopback a visitor can answer within the millisecond of the agent's message.
    if status == "abandoned" and _num(conv.get("last_visitor_msg_at")) >= _num(
        conv.get("last_agent_msg_at")
    ):
        out.append("abandoned")
    if status == "resolved" and site.get("transcript_auto") == "1" and email:
        out.append("transcript")
    return out


def _num(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


class MailSteps:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Callable[[], int],
        wake: Callable[[], None],
    ) -> None:
        self.store, self.settings, self.clock, self.wake = store, settings, clock, wake
        self.replies = ReplyMail(store, settings, clock)

    def console_link(self, conv_id: str) -> str:
        base = self.settings.public_url or f"http://{self.settings.host}:{self.settings.port}"
        return f"{base}/agent#watch={conv_id}"

    async def fire(self, site: str, conv_id: str, member: str, now: int) -> bool:
        """Queue what the conversation calls for; True when a mail was queued. A step that
        fails keeps its timer (it runs again next tick) and never stops the other timers."""
        try:
            return await self._fire(site, conv_id, member, now)
        except Exception as exc:  # the timer runner must go on with the site's other timers
            log.warning("mail_step_failed", site=site, conv=conv_id, error=repr(exc)[:300])
            return False

    async def _fire(self, site: str, conv_id: str, member: str, now: int) -> bool:
        due = await self.store.timer_due(site, member)
        if due is None:
            return False  # another node did it
        conv = await self.store.get_conversation(site, conv_id)
        queued = False
        if conv is not None:
            visitor = await self.store.load_visitor(site, conv.get("visitor", "")) or {}
            cfg = await self.store.get_site(site) or {}
            if conv.get("mail_reply_after"):
                queued |= await self.replies.step(site, conv_id, conv, visitor, cfg, now)
            if conv.get(KEPT_FIELD):
                queued |= await self.agent_ready(site, conv_id, conv, visitor, cfg, now)
            for reason in reasons(conv, visitor, cfg):
                if reason == "transcript":
                    queued |= await self.transcript(site, conv_id, conv, visitor, cfg, now)
                elif await self.alert(site, conv_id, reason, visitor, cfg, now):
                    queued = True
                    if conv.get("status") == "queued":  # consoles show the mark in the queue
                        await self.store.publish(site, Queue(conv.get("department", "")))
        await self.store.drop_mail_timer(site, member, due)
        if queued:
            self.wake()
        return queued

    async def alert(
        self,
        site: str,
        conv_id: str,
        reason: str,
        visitor: dict[str, str],
        cfg: dict[str, str],
        now: int,
    ) -> bool:
        team = cfg.get("team_email", "")
        if not team:
            return False
        messages = await self.store.read_messages(site, conv_id, None, 50)
        lang = render.language(cfg.get(TEAM_LANGUAGE, ""))
        subject, text, html = render.alert(
            cfg.get("name") or site, reason, visitor, self.console_link(conv_id), messages, lang
        )
        mail = Mail(
            to=team,
            subject=subject,
            text=text,
            html=html,
            kind=f"alert.{reason}",
            conv_id=conv_id,
            reply_to=visitor.get("email", ""),
            lang=lang,
        )
        res, mail_id = await queue_mail(
            self.store,
            self.settings,
            site,
            mail,
            now,
            once=f"mail_{reason}",
            mark_waiting=bool(visitor.get("email")),
            follow_up_ms=SitePolicy.from_settings(cfg).ms("follow_up_after_s"),
        )
        if res == "ok":
            log.info("mail_alert_queued", site=site, conv=conv_id, reason=reason, mail=mail_id)
        return res == "ok"

    async def agent_ready(
        self,
        site: str,
        conv_id: str,
        conv: dict[str, str],
        visitor: dict[str, str],
        cfg: dict[str, str],
        now: int,
    ) -> bool:
        """Tell a visitor whose place was kept that an agent is ready, in their language,
        with a link to the page they were on; True when the mail was queued."""
        policy = SitePolicy.from_settings(cfg)
        to = visitor.get("email", "")
        if not to:
            return False
        here = await self.store.visitor_here(site, conv.get("visitor", ""), now)
        once = ready_mail_once(
            conv, to, here, policy.ms("keep_place_s"), policy.ms("visitor_grace_s")
        )
        if not once:
            return False
        lang = render.language(
            conv.get("locale", ""), visitor.get("locale", ""), cfg.get("locale", "")
        )
        subject, text, html = render.agent_ready(
            cfg.get("name") or site, visitor.get("page_url", ""), lang
        )
        mail = Mail(
            to=to,
            subject=subject,
            text=text,
            html=html,
            kind="agent_ready",
            conv_id=conv_id,
            lang=lang,
        )
        res, mail_id = await queue_mail(self.store, self.settings, site, mail, now, once=once)
        if res == "ok":
            log.info("mail_agent_ready_queued", site=site, conv=conv_id, mail=mail_id)
        return res == "ok"

    async def transcript(
        self,
        site: str,
        conv_id: str,
        conv: dict[str, str],
        visitor: dict[str, str],
        cfg: dict[str, str],
        now: int,
        once: str = "mail_transcript",
    ) -> bool:
        """Queue the conversation's transcript to its visitor, in their language."""
        to = visitor.get("email", "")
        if not to:
            return False
        lang = render.language(
            conv.get("locale", ""), visitor.get("locale", ""), cfg.get("locale", "")
        )
        messages = await self.store.read_messages(site, conv_id, None, 2000)
        subject, text, html = render.transcript(cfg.get("name") or site, messages, lang)
        mail = Mail(
            to=to,
            subject=subject,
            text=text,
            html=html,
            kind="transcript",
            conv_id=conv_id,
            lang=lang,
        )
        res, _ = await queue_mail(self.store, self.settings, site, mail, now, once=once)
        return res == "ok"
