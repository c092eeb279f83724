"""The site-wide notice: one string key per site holding its JSON, expiring with the notice
(PEXPIREAT), so neither a sweeper nor a reader has to take down an expired one. Posting and
taking down ring the site's doorbell in the same script (lua/notice_set.lua, notice_end.lua):
every node pushes the change to its visitors' sockets at once. What a notice may be is
chatserver/core/notices.py.
"""

from __future__ import annotations

import orjson

from chatserver.core.notices import Notice, decode
from chatserver.store.base import StoreBase


class NoticeStore(StoreBase):
    async def notice(self, site: str, now: int) -> Notice | None:
        """The site's notice, or None (none posted, taken down or expired at ``now``)."""
        raw: str | None = await self.r.get(self.k.notice(site))
        return decode(raw, now)

    async def post_notice(self, site: str, notice: Notice) -> None:
        """Post ``notice`` (already checked: core/notices.check), replacing the site's."""
        await self.scripts.run(
            "notice_set",
            [self.k.notice(site)],
            [
                notice.encode(),
                notice.expires_at,
                self.k.channel(site),
                orjson.dumps(notice.public()).decode(),
            ],
        )

    async def end_notice(self, site: str) -> bool:
        """Take the site's notice down; False when it had none (or it had expired)."""
        return bool(
            await self.scripts.run("notice_end", [self.k.notice(site)], [self.k.channel(site)])
        )
