"""Visitors' satisfaction ratings of their conversations."""

from __future__ import annotations

from chatserver.core.states import CLOSED_STATUSES
from chatserver.store.base import StoreBase, StoreError

_ENDED = ",".join(sorted(CLOSED_STATUSES))


class FeedbackStore(StoreBase):
    async def rate(
        self,
        site: str,
        conv_id: str,
        visitor_id: str,
        visitor_name: str,
        score: int,
        comment: str,
        now: int,
    ) -> str:
        """Store the visitor's rating (1-5) once, on an ended conversation of theirs.

        The conversation hash gets ``rating``, ``rating_comment`` and ``rated_at``; a system
        message (event ``rated``) is appended and published. Returns that message's id.
        Raises StoreError('not_found' | 'forbidden' | 'not_ended' | 'conflict').
        """
        text = f"Rated {score}/5" + (f": {comment}" if comment else "")
        k = self.k
        res = await self.scripts.run(
            "rate",
            [
                k.conversation(site, conv_id),
                k.messages(site, conv_id),
                k.latency(site),
                *k.feed_keys(site),
            ],
            [conv_id, visitor_id, score, comment, now, k.channel(site), visitor_name, text, _ENDED],
        )
        if res[0] == "ok":
            return str(res[1])
        raise StoreError(str(res[1]), str(res[2]) if len(res) > 2 else "")
