"""One person's data: finding their visitor records, reading all of it for an export, and the
erasure steps (chatserver/lua/erase_conversation.lua, erase_visitor.lua)."""

from __future__ import annotations

import secrets
from typing import Any

from chatserver.store.base import StoreBase

_READ_PAGE = 1000
ERASE_BATCH = 500


class PrivacyStore(StoreBase):
    async def find_person(
        self, site: str, visitor_id: str = "", email: str = "", user_id: str = ""
    ) -> list[str]:
        """The visitor ids of one person on the site, by any of their visitor id, e-mail
        (every visitor record that holds it now) or verified user id; [] when none."""
        k = self.k
        found: list[str] = []
        if visitor_id and await self.r.exists(k.visitor(site, visitor_id)):
            found.append(visitor_id)
        if user_id:
            mapped = await self.r.hget(k.verified_users(site), user_id)
            if mapped and await self.r.exists(k.visitor(site, mapped)):
                found.append(mapped)
        if email:
            wanted = email.strip().lower()
            ids = (await self.r.hget(k.visitor_emails(site), wanted) or "").split()
            # The index can lag a change of address: the record itself decides.
            emails = await self._hget_many([k.visitor(site, vid) for vid in ids], "email")
            found += [vid for vid, e in zip(ids, emails, strict=True) if e.lower() == wanted]
        return list(dict.fromkeys(found))

    async def person_conversations(self, site: str, visitor_id: str) -> list[str]:
        ids: list[str] = await self.r.zrange(self.k.visitor_conversations(site, visitor_id), 0, -1)
        return ids

    async def all_entries(self, site: str, conv_id: str) -> list[tuple[str, dict[str, str]]]:
        """Every entry of a conversation's stream, in order (read a page at a time)."""
        out: list[tuple[str, dict[str, str]]] = []
        start = "-"
        while True:
            page: list[Any] = await self.r.xrange(
                self.k.messages(site, conv_id), min=start, max="+", count=_READ_PAGE
            )
            out += [(str(i), dict(f)) for i, f in page]
            if len(page) < _READ_PAGE:
                return out
            start = f"({page[-1][0]}"

    async def mark_erasing(self, site: str, conv_id: str, visitor_id: str, now: int) -> None:
        """Mark one of the visitor's conversations as being erased: it can no longer be
        reopened (do this before ending it and :meth:`erase_conversation`)."""
        k = self.k
        await self.scripts.run(
            "erase_conversation",
            [
                k.conversation(site, conv_id),
                k.messages(site, conv_id),
                k.erase_scratch(site, conv_id, "mark"),
                *self._search_keys(site, conv_id),
            ],
            [visitor_id, "", 0, now, k.search_postings_prefix(site), conv_id],
        )

    async def erase_conversation(self, site: str, conv_id: str, visitor_id: str, now: int) -> int:
        """Tombstone every entry of one of the visitor's ended conversations (see the
        script); returns how many entries the stream holds, all erased."""
        k = self.k
        cursor = "0-0"
        scratch = k.erase_scratch(site, conv_id, secrets.token_hex(8))
        while True:
            res = await self.scripts.run(
                "erase_conversation",
                [
                    k.conversation(site, conv_id),
                    k.messages(site, conv_id),
                    scratch,
                    *self._search_keys(site, conv_id),
                ],
                [visitor_id, cursor, ERASE_BATCH, now, k.search_postings_prefix(site), conv_id],
            )
            if res[0] == "done":
                return int(res[1])
            cursor = str(res[1])

    def _search_keys(self, site: str, conv_id: str) -> list[str]:
        """The search index's keys that erasing a conversation removes it from."""
        k = self.k
        return [k.search_doc(site, conv_id), k.search_todo(site), k.search_vocab(site)]

    async def erase_visitor(self, site: str, visitor_id: str, erased: list[str]) -> str:
        """Delete the visitor's record and what points at it, once their conversations
        ``erased`` are; returns '' when it went, or the id of a conversation they started
        meanwhile, which stays theirs (the record keeps only its id and that)."""
        k = self.k
        res = await self.scripts.run(
            "erase_visitor",
            [
                k.visitor(site, visitor_id),
                k.visitor_conversations(site, visitor_id),
                k.verified_users(site),
                k.visitor_emails(site),
                k.visitor_pages(site, visitor_id),
            ],
            [visitor_id, *erased],
        )
        return "" if res[0] == "deleted" else str(res[1])
