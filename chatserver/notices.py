"""Posting and taking down a site's notice, for every caller (the supervisors' dashboard,
the REST API): checked (core/notices.py), stored and pushed to every node's visitors
(store/notices.py), and written to the site's audit log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chatserver.core.notices import Notice, check
from chatserver.services import Services
from chatserver.store import new_id


async def post(
    services: Services, site: str, body: Mapping[str, Any], actor: str, name: str, via: str
) -> Notice:
    """Post the notice ``body`` describes as ``actor`` (``name``), replacing the site's;
    ``via`` ends the audit entry (where from). Raises core.notices.NoticeError."""
    now = services.hub.clock()
    notice = check(body, now, new_id("n"), name)
    await services.store.post_notice(site, notice)
    langs = "+".join(notice.text)
    await services.store.audit(
        site, "notice_posted", actor, name, now, f"{langs}, until {notice.expires_at}, {via}"
    )
    return notice


async def end(services: Services, site: str, actor: str, name: str, via: str) -> bool:
    """Take the site's notice down; False (and nothing audited) when it had none."""
    ended = await services.store.end_notice(site)
    if ended:
        await services.store.audit(site, "notice_ended", actor, name, services.hub.clock(), via)
    return ended
