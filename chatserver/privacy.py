"""Export and erasure of one person's data (the admin pages, the CLI and the REST API call
these). A person is found by their visitor id, e-mail or verified user id, and may have
several visitor records (one per browser before they signed in, or per address).

Export: one JSON document of everything kept about them. Erasure: each of their
conversations is ended if open, then tombstoned (every entry keeps its id, kind and time and
loses its text and the person's name, so cursors and replays stay consistent), and their
visitor record and the index entries pointing at it are deleted. Counts, latencies and
ratings' scores stay in the metrics, which hold no one's name. Both are written to the
site's audit log. Safe on several nodes at once and while the person is chatting: every step
is one script that re-checks what it changes; their conversations are marked first (none can
be reopened), then ended, then tombstoned, so nothing of theirs lands in one after its
tombstones; a conversation they start while it runs is new, and stays.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chatserver.core.states import OPEN_STATUSES
from chatserver.store import Store, StoreError

EXPORT_FORMAT = "chatserver-export-v1"
# Fields of a visitor record that are the server's bookkeeping, not about the person.
_INTERNAL_VISITOR_FIELDS = frozenset({"open_conv", "last_conv"})


@dataclass(frozen=True, slots=True)
class Person:
    """Who to export or erase: any of the three (at least one)."""

    visitor_id: str = ""
    email: str = ""
    user_id: str = ""

    def problem(self) -> str:
        """What is wrong with the query ('' when nothing)."""
        if not (self.visitor_id or self.email or self.user_id):
            return "give a visitor_id, an email or a user_id"
        if any(len(v) > 254 for v in (self.visitor_id, self.email, self.user_id)):
            return "a visitor_id, email or user_id is at most 254 characters"
        return ""

    def describe(self) -> str:
        parts = [
            f"{name} {value}"
            for name, value in (
                ("visitor", self.visitor_id),
                ("email", self.email),
                ("user", self.user_id),
            )
            if value
        ]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Erased:
    visitors: int
    conversations: int
    entries: int


def _iso(ms: str | int | None) -> str | None:
    if ms in (None, ""):
        return None
    return datetime.fromtimestamp(int(ms) / 1000, UTC).isoformat().replace("+00:00", "Z")


def _message(entry_id: str, f: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": entry_id,
        "from": f.get("k", ""),
        "author": f.get("n", ""),
        "text": f.get("t", ""),
        "at": _iso(f.get("ts")),
    }
    if f.get("e"):
        out["event"] = f["e"]
    return out


async def export_person(
    store: Store, site: str, person: Person, by: tuple[str, str], now: int
) -> dict[str, Any]:
    """Everything kept about the person on the site, as one JSON-ready document; ``by`` (the
    actor's id and name) is recorded in the audit log."""
    visitors = []
    files: list[dict[str, Any]] = []
    for visitor_id in await store.find_person(
        site, person.visitor_id, person.email, person.user_id
    ):
        record = await store.load_visitor(site, visitor_id) or {}
        conversations = []
        for conv_id in await store.person_conversations(site, visitor_id):
            conv = await store.get_conversation(site, conv_id)
            if conv is None:
                continue
            files += await _files(store, site, conv_id)
            rating = None
            if conv.get("rating"):
                rating = {
                    "score": int(conv["rating"]),
                    "comment": conv.get("rating_comment", ""),
                    "at": _iso(conv.get("rated_at")),
                }
            conversations.append(
                {
                    "id": conv_id,
                    "status": conv.get("status", ""),
                    "department": conv.get("department", ""),
                    "agent": conv.get("agent_name", ""),
                    "created_at": _iso(conv.get("created_at")),
                    "ended_at": _iso(conv.get("ended_at")),
                    "rating": rating,
                    "messages": [_message(i, f) for i, f in await store.all_entries(site, conv_id)],
                }
            )
        visitors.append(
            {
                "visitor_id": visitor_id,
                "details": {
                    k: v for k, v in sorted(record.items()) if k not in _INTERNAL_VISITOR_FIELDS
                },
                "conversations": conversations,
                # Where they went on the site is about them too (chatserver/core/visits.py).
                "pages": [
                    {"url": p["url"], "title": p["title"], "at": _iso(p["ts"])}
                    for p in (await store.visitor_context(site, [visitor_id], now))[0]["pages"]
                ],
            }
        )
    detail = f"{person.describe()}: {len(visitors)} visitor records"
    await store.audit(site, "export", by[0], by[1], now, detail=detail)
    return {
        "format": EXPORT_FORMAT,
        "site": site,
        "exported_at": _iso(now),
        "query": {
            "visitor_id": person.visitor_id,
            "email": person.email,
            "user_id": person.user_id,
        },
        "visitors": visitors,
        # The files of their conversations, both ways (the bytes: the console's download).
        "files": files,
    }


async def _files(store: Store, site: str, conv_id: str) -> list[dict[str, Any]]:
    out = []
    for file_id in await store.conversation_file_ids(site, conv_id):
        record = await store.file_record(site, file_id)
        if record is None:
            continue
        out.append(
            {
                "id": file_id,
                "conversation_id": conv_id,
                "message_id": record.get("msg", ""),
                "uploaded_by": record.get("owner", "").partition(":")[0],
                "name": record.get("name", ""),
                "type": record.get("type", "").split(";")[0],
                "size": int(record.get("size") or 0),
                "uploaded_at": _iso(record.get("at")),
            }
        )
    return out


async def find(store: Store, site: str, person: Person) -> list[dict[str, Any]]:
    """The person's visitor records with their conversation counts (for the admin page)."""
    out = []
    for visitor_id in await store.find_person(
        site, person.visitor_id, person.email, person.user_id
    ):
        record = await store.load_visitor(site, visitor_id) or {}
        convs = await store.person_conversations(site, visitor_id)
        out.append(
            {
                "visitor_id": visitor_id,
                "name": record.get("name", ""),
                "email": record.get("email", ""),
                "user_id": record.get("user_id", ""),
                "conversations": len(convs),
            }
        )
    return out


async def erase_person(
    store: Store,
    site: str,
    person: Person,
    by: tuple[str, str],
    now: int,
    forget_files: Callable[[str, str], Awaitable[int]] | None = None,
) -> Erased:
    """Erase everything personal of the person on the site (see the module's docstring);
    ``by`` (the actor's id and name) is recorded in the audit log. ``forget_files(site,
    conversation)`` deletes a tombstoned conversation's files (chatserver/files/)."""
    visitors = entries = 0
    erased: set[str] = set()
    for visitor_id in await store.find_person(
        site, person.visitor_id, person.email, person.user_id
    ):
        convs = await store.person_conversations(site, visitor_id)
        # Marked first, none can be reopened; ended next, nothing new of theirs lands in
        # them; only then tombstoned.
        for conv_id in convs:
            await store.mark_erasing(site, conv_id, visitor_id, now)
        for conv_id in convs:
            await _end_if_open(store, site, conv_id, now)
        for conv_id in convs:
            entries += await store.erase_conversation(site, conv_id, visitor_id, now)
            if forget_files is not None:
                await forget_files(site, conv_id)
        erased.update(convs)
        await store.erase_visitor(site, visitor_id, convs)
        visitors += 1
    result = Erased(visitors, len(erased), entries)
    detail = (
        f"{person.describe()}: {result.visitors} visitor records, "
        f"{result.conversations} conversations, {result.entries} entries"
    )
    await store.audit(site, "erase", by[0], by[1], now, detail=detail)
    return result


async def _end_if_open(store: Store, site: str, conv_id: str, now: int) -> None:
    conv = await store.get_conversation(site, conv_id)
    if conv is None or conv.get("status") not in OPEN_STATUSES:
        return
    try:
        await store.resolve(site, conv_id, "system", "", "", now)
    except StoreError as exc:
        if exc.code != "closed":  # ended by someone else meanwhile: just as good
            raise
