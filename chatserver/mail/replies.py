"""An agent's replies to a visitor who has gone reach them by e-mail, one mail per burst.

Every node hears each stored message on the bus; for an agent's message in a conversation
whose visitor left an e-mail and has no socket open anywhere (``keys.visitor_presence``),
``lua/mail_reply_watch.lua`` marks where the replies to mail start (``mail_reply_after``) and
sets the conversation's mail step ``CHATSERVER_MAIL_REPLY_QUIET_S`` later; each further reply
moves the step later, so a burst makes one mail. The step (chatserver/mail/alerts.py) mails
the agents' messages after the mark, unless the visitor is back (the widget shows them),
with the conversation's signed Reply-To address when inbound mail is set up
(chatserver/mail/inbound.py), at most once per last reply; ``lua/mail_reply_done.lua`` then
moves the mark on. A reply whose bus message was lost (a node killed at that instant) goes
out with the next reply of the conversation.
"""

from __future__ import annotations

from collections.abc import Callable

from chatserver.config import Settings
from chatserver.core.mail_reply import reply_address
from chatserver.events import Event, Message
from chatserver.log import get_logger
from chatserver.mail import render
from chatserver.mail.queue import Mail, queue_mail
from chatserver.store import Store
from chatserver.tasks import Background

log = get_logger(__name__)

BATCH = 200  # messages one step reads; a longer burst goes out over more mails
VISITORS_KEPT = 100_000  # conversations whose visitor id a node remembers (then forgets all)


class ReplyMail:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], int]) -> None:
        self.store, self.settings, self.clock = store, settings, clock
        self._tasks = Background()
        # Whether this node holds a socket of the conversation's visitor (app.py sets it from
        # the hub): then nothing is asked of Redis for the message, which keeps the cost of a
        # reply to a visitor in the chat at a dictionary lookup on their node.
        self.visitor_on_node: Callable[[str], bool] = lambda conv_id: False
        self._visitors: dict[tuple[str, str], str] = {}  # (site, conversation) -> visitor id

    async def stop(self) -> None:
        await self._tasks.stop()

    def on_event(self, site: str, ev: Event) -> None:
        """The hub's hook for every event a node hears (cheap: only agents' messages act)."""
        if isinstance(ev, Message) and ev.kind == "agent" and not self.visitor_on_node(ev.conv):
            self._tasks.spawn(self._agent_wrote(site, ev), name="mail-reply-watch")

    async def _agent_wrote(self, site: str, ev: Message) -> None:
        # One batched script per reply once the conversation's visitor is known here (a
        # conversation's visitor never changes): a reply to a visitor in the chat on another
        # node costs no round trip of its own.
        visitor = self._visitors.get((site, ev.conv))
        if visitor is None:
            visitor = await self.store.conversation_visitor(site, ev.conv)
            if not visitor:
                return
            if len(self._visitors) >= VISITORS_KEPT:
                self._visitors.clear()
            self._visitors[(site, ev.conv)] = visitor
        now = self.clock()
        await self.store.watch_reply(site, ev.conv, visitor, ev.prev, self._due(now), now)

    def _due(self, now: int) -> int:
        return now + self.settings.mail_reply_quiet_s * 1000

    def address(self, site: str, conv_id: str) -> str:
        """The conversation's signed reply address ('' while inbound mail is not set up)."""
        s = self.settings
        if not (s.mail_inbound_domain and s.mail_inbound_token):
            return ""
        return reply_address(s.secret_key, site, conv_id, s.mail_inbound_domain)

    async def step(
        self,
        site: str,
        conv_id: str,
        conv: dict[str, str],
        visitor: dict[str, str],
        cfg: dict[str, str],
        now: int,
    ) -> bool:
        """Mail the replies after the conversation's mark; True when a mail was queued."""
        mark = conv.get("mail_reply_after", "")
        if not mark:
            return False
        messages = await self.store.read_messages(site, conv_id, mark, BATCH)
        last = messages[-1].id if messages else mark
        replies = [m for m in messages if m.kind == "agent"]
        to = visitor.get("email", "")
        here = await self.store.visitor_here(site, conv.get("visitor", ""), now)
        queued = False
        if replies and to and not here:
            lang = render.language(visitor.get("locale", ""), cfg.get("locale", ""))
            can_reply = bool(self.address(site, conv_id))
            subject, text, html = render.reply(cfg.get("name") or site, replies, lang, can_reply)
            mail = Mail(
                to=to,
                subject=subject,
                text=text,
                html=html,
                kind="reply",
                conv_id=conv_id,
                reply_to=self.address(site, conv_id),
                lang=lang,
            )
            res, mail_id = await queue_mail(
                self.store, self.settings, site, mail, now, once=f"mail_reply_{replies[-1].id}"
            )
            queued = res == "ok"
            if queued:
                log.info("mail_reply_queued", site=site, conv=conv_id, mail=mail_id)
        await self.store.reply_done(site, conv_id, mark, last)
        return queued
