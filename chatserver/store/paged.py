"""Paged reads shared by the sweeper and the dashboard (chatserver.core.paging has the
cursor rules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatserver.core.paging import Cursor, Entry, after, first_read, next_read
from chatserver.keys import Keys


async def zpage(
    r: Any, key: str, cursor: Cursor | None, page: int, max_score: str = "+inf"
) -> list[Entry]:
    """The (at most) ``page`` entries of a sorted set after ``cursor`` and up to
    ``max_score`` (a ZRANGE bound: '(N' excludes N), in order; fewer only at the end (see
    :mod:`chatserver.core.paging`)."""
    read = first_read(cursor, page)
    while True:
        got: list[Entry] = await r.zrange(
            key,
            "-inf" if read.min_score is None else repr(read.min_score),
            max_score,
            byscore=True,
            offset=read.offset,
            num=read.count,
            withscores=True,
        )
        again = next_read(read, got, cursor, page)
        if again is None:
            return after(got, cursor)[:page]
        read = again


def holders(keys: Keys, site: str, convs: Sequence[dict[str, str]]) -> tuple[list[str], list[str]]:
    """KEYS and ARGV of ``lua/members_held.lua`` for ``convs``: a queued conversation's
    department queue, any other's agent's load set ('-' for none)."""
    held_in: list[str] = []
    kinds: list[str] = []
    for c in convs:
        if c.get("status") == "queued":
            held_in.append(keys.queue(site, c.get("department", "")))
            kinds.append("q")
        else:
            held_in.append(keys.agent_conversations(site, c.get("agent") or "-"))
            kinds.append("s")
    return held_in, ["".join(kinds), " ".join(c.get("id", "") for c in convs)]
