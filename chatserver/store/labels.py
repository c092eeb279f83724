"""Conversation labels: the site's labels (lua/label_save.lua, label_delete.lua) and a
conversation's (lua/label_set.lua). What a name or colour may be is chatserver/core/labels.py.

A conversation's labels are its hash's ``labels`` field: the search query reads it there,
erasure and retention delete it with the hash. A deleted label's id stays in the
conversations that had it until they are next labelled; readers resolve ids against the
site's labels (:meth:`LabelStore.labels`), so it is never shown, filtered or counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from chatserver.core.labels import (
    MAX_LABELS,
    Label,
    count_by_label,
    encode,
    name_key,
    site_labels,
)
from chatserver.store.base import StoreBase, StoreError, new_id

MAX_COUNTED = 20_000  # conversations a day's label counts read, at most


class LabelStore(StoreBase):
    async def labels(self, site: str) -> list[Label]:
        """The site's labels, sorted by name."""
        stored: dict[str, str] = await self.r.hgetall(self.k.labels(site))
        return site_labels(stored)

    async def has_label(self, site: str, label_id: str) -> bool:
        return bool(await self.r.hexists(self.k.labels(site), label_id))

    async def save_label(self, site: str, label_id: str, name: str, color: str) -> str:
        """Create a label (``label_id`` '') or rename / recolour one; ``name`` and ``color``
        are already clean (core/labels.py). Returns its id; raises StoreError('not_found' |
        'duplicate' | 'too_many')."""
        mode = "update" if label_id else "create"
        label_id = label_id or new_id("l")
        res = await self.scripts.run(
            "label_save",
            [self.k.labels(site), self.k.label_names(site)],
            [label_id, mode, encode(name, color), name_key(name), MAX_LABELS],
        )
        if res[0] != "ok":
            raise StoreError(str(res[1]))
        return label_id

    async def delete_label(self, site: str, label_id: str) -> bool:
        """Delete a label; False when the site has no such label."""
        res = await self.scripts.run(
            "label_delete", [self.k.labels(site), self.k.label_names(site)], [label_id]
        )
        return bool(res)

    async def change_labels(
        self,
        site: str,
        conv_id: str,
        mode: Literal["add", "remove", "set"],
        label_ids: Sequence[str],
        agent_id: str = "",
    ) -> tuple[list[str], bool]:
        """Add, remove or set a conversation's labels as ``agent_id`` ('' the REST API, or a
        supervisor or admin: any conversation of the site); every console following it is
        told. Returns its label ids afterwards and whether they changed. Raises
        StoreError('not_found' | 'forbidden' | 'closed' | 'unknown_label', detail)."""
        res = await self.scripts.run(
            "label_set",
            [self.k.conversation(site, conv_id), self.k.labels(site)],
            [conv_id, mode, agent_id, self.k.channel(site), *label_ids],
        )
        if res[0] != "ok":
            raise StoreError(str(res[1]), str(res[2]) if len(res) > 2 else "")
        return [i for i in str(res[1]).split(" ") if i], bool(int(res[2]))

    async def label_counts(
        self, site: str, start: int, end: int, department: str | None = None
    ) -> list[dict[str, Any]]:
        """How many conversations created in ``[start, end)`` (of one department when given)
        hold each of the site's labels: ``[{id, name, color, count}]`` by name, zeros
        included. Reads at most :data:`MAX_COUNTED` conversations (the newest are left out
        beyond that: a day's report, not an archive's)."""
        labels = await self.labels(site)
        if not labels:
            return []
        ids: list[str] = await self.r.zrangebyscore(
            self.k.conversation_index(site), start, f"({end}", start=0, num=MAX_COUNTED
        )
        fields: list[str | None] = []
        for at in range(0, len(ids), 1000):
            pipe = self.r.pipeline(transaction=False)
            for conv_id in ids[at : at + 1000]:
                pipe.hmget(self.k.conversation(site, conv_id), ["labels", "department"])
            for labelled, dept in await pipe.execute():
                if department is None or (dept or "") == department:
                    fields.append(labelled)
        return count_by_label(fields, labels)
