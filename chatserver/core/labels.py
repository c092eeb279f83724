"""Conversation labels without I/O: what a label's name and colour may be, the key that keeps
names unique per site, and how a conversation's labels are stored and read.

A site defines its labels (at most :data:`MAX_LABELS`); a conversation holds label ids. A
label's colour is a palette name, never free hex: the palette (console.css ``.label-<name>``)
is chosen so every chip's text reads well on its colour.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from chatserver.core.errors import CodedError
from chatserver.core.text import fold

MAX_LABELS = 50  # per site
MAX_NAME = 32  # characters, after trimming
PALETTE = ("gray", "red", "orange", "yellow", "green", "teal", "blue", "purple")
DEFAULT_COLOR = "gray"
LABEL_ID = re.compile(r"^l_[A-Za-z0-9_-]{1,40}$")
_SPACES = re.compile(r"\s+")


class LabelError(CodedError):
    """A name or colour a label cannot have; ``code`` names which rule (docs/protocol.md)."""


@dataclass(frozen=True, slots=True)
class Label:
    id: str
    name: str
    color: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "color": self.color}


def clean_name(raw: str) -> str:
    """The name as stored: trimmed, inner runs of spaces made one, in NFC; raises
    :class:`LabelError` (``invalid_name``) unless 1 to 32 characters without control ones."""
    name = _SPACES.sub(" ", unicodedata.normalize("NFC", raw)).strip()
    if not name or len(name) > MAX_NAME:
        raise LabelError("invalid_name", f"a label's name is 1 to {MAX_NAME} characters")
    # Cc: controls; Cf would also catch the ZWNJ Persian words need, so only bidi overrides.
    if any(unicodedata.category(ch) == "Cc" or "\u202a" <= ch <= "\u202e" for ch in name):
        raise LabelError("invalid_name", "a label's name cannot hold control characters")
    return name


def clean_color(raw: str) -> str:
    """A palette name ('' for the default); raises :class:`LabelError` (``invalid_color``)."""
    color = raw.strip().lower() or DEFAULT_COLOR
    if color not in PALETTE:
        raise LabelError("invalid_color", f"a label's colour is one of {', '.join(PALETTE)}")
    return color


def name_key(name: str) -> str:
    """What two names must not share on one site: case, spacing and the Persian/Arabic
    letter variants search folds (chatserver.core.text.fold) do not make a new label."""
    return _SPACES.sub("", fold(name))


def encode(name: str, color: str) -> str:
    """A label's stored record (the site's labels hash): its name, colour and name key."""
    return orjson.dumps({"name": name, "color": color, "key": name_key(name)}).decode()


def decode(label_id: str, raw: str) -> Label | None:
    """The label a stored record holds; None when it is not one (never guessed at)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    color = data.get("color")
    return Label(label_id, data["name"], color if color in PALETTE else DEFAULT_COLOR)


def site_labels(stored: Mapping[str, str]) -> list[Label]:
    """The site's labels from its hash (id -> record), by name as a reader sorts them."""
    labels = [lab for i, raw in stored.items() if (lab := decode(i, raw)) is not None]
    return sorted(labels, key=lambda lab: (name_key(lab.name), lab.id))


def conversation_label_ids(field: str | None) -> list[str]:
    """The label ids a conversation's ``labels`` field holds (space separated)."""
    return [i for i in (field or "").split(" ") if i]


def resolve_labels(ids: Iterable[str], labels: Iterable[Label]) -> list[Label]:
    """The labels ``ids`` name, in the site's order; ids of deleted labels are dropped here
    (deleting a label does not rewrite every conversation that had it)."""
    wanted = set(ids)
    return [lab for lab in labels if lab.id in wanted]


def parse_ids(value: object) -> list[str]:
    """A client's list of label ids, de-duplicated in order; raises :class:`LabelError`
    (``invalid_field``) when it is not a list of at most MAX_LABELS ids."""
    if not isinstance(value, list) or len(value) > MAX_LABELS:
        raise LabelError("invalid_field", f"labels is a list of at most {MAX_LABELS} label ids")
    out: dict[str, None] = {}
    for item in value:
        if not isinstance(item, str) or not LABEL_ID.match(item):
            raise LabelError("invalid_field", "a label id looks like l_…")
        out[item] = None
    return list(out)


def count_by_label(fields: Iterable[str | None], labels: Sequence[Label]) -> list[dict[str, Any]]:
    """How many of the conversations (their ``labels`` fields) hold each of the site's
    ``labels``: ``[{id, name, color, count}]`` in the site's order, zeros included."""
    counts = dict.fromkeys((lab.id for lab in labels), 0)
    for field in fields:
        for label_id in set(conversation_label_ids(field)):
            if label_id in counts:
                counts[label_id] += 1
    return [{**lab.as_dict(), "count": counts[lab.id]} for lab in labels]
