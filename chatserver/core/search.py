"""Conversation search without I/O: what a message is indexed under, what a query asks for,
and the snippet that shows why a conversation matched.

Both sides fold text the same way (chatserver.core.text.fold), so a word typed on an Arabic
keyboard (ي, ك), with Persian or Arabic-Indic digits, a tatweel, a ZWNJ or short vowels
finds and is found by the same word typed any other way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chatserver.core.text import fold

# Letters, marks and digits (\w without the underscore): a word is a run of them.
_WORD = re.compile(r"[^\W_]+")
MIN_PREFIX = 2  # a one-letter last word is matched exactly: as a prefix it narrows nothing
MAX_TOKEN = 40  # longer runs (hashes, base64) are cut: nobody types more of them
MAX_DOC_TOKENS = 2000  # distinct tokens one conversation is indexed under, at most
MAX_QUERY_WORDS = 8
MAX_PREFIX_EXPANSIONS = 30  # index tokens a last-word prefix stands for, at most
# The kinds of stream entries whose text is indexed: notes and whispers too (agents are the
# only ones who search, and a visitor never reads them).
INDEXED_KINDS = frozenset({"visitor", "agent", "bot", "note", "whisper"})
AUTHOR_KINDS = frozenset({"agent", "note", "whisper"})  # their sender handled the chat
# A pseudo-token per agent who wrote in a conversation: what "the chats I handled" and the
# agent filter look up. The control character cannot come out of tokenize().
PARTICIPANT = "\x01a:"


def tokens(text: str) -> list[str]:
    """The distinct index tokens of ``text``, in order of first appearance."""
    out: dict[str, None] = {}
    for word in _WORD.findall(fold(text)):
        out[word[:MAX_TOKEN]] = None
    return list(out)


def participant(agent_id: str) -> str:
    return PARTICIPANT + agent_id


@dataclass(frozen=True, slots=True)
class DocUpdate:
    """What one indexing step adds to a conversation's entry: tokens not yet posted."""

    new_tokens: list[str]
    all_tokens: list[str]  # what the entry lists afterwards (what unindexing removes)


def doc_update(
    posted: Sequence[str],
    messages: Iterable[tuple[str, str, str]],
    visitor_name: str = "",
    visitor_email: str = "",
    agents: Iterable[str] = (),
) -> DocUpdate:
    """The tokens to add for new ``messages`` (kind, sender id, text), the visitor's name and
    e-mail and the agents who hold or joined the chat, given those ``posted`` already."""
    have = dict.fromkeys(posted)
    new: dict[str, None] = {}

    def add(tok: str) -> None:
        if tok not in have and tok not in new and len(have) + len(new) < MAX_DOC_TOKENS:
            new[tok] = None

    for tok in tokens(visitor_name) + tokens(visitor_email):
        add(tok)
    for agent in agents:
        if agent:
            add(participant(agent))
    for kind, sender, text in messages:
        if kind not in INDEXED_KINDS:
            continue
        if kind in AUTHOR_KINDS and sender:
            add(participant(sender))
        for tok in tokens(text):
            add(tok)
    return DocUpdate(list(new), [*have, *new])


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: every word must match; the last one may be a prefix."""

    words: tuple[str, ...]  # exact tokens, AND-ed
    prefix: str = ""  # the last word, matched as a prefix (also AND-ed)

    @property
    def empty(self) -> bool:
        return not self.words and not self.prefix

    @property
    def terms(self) -> tuple[str, ...]:
        """What a snippet highlights."""
        return (*self.words, self.prefix) if self.prefix else self.words


def parse_query(text: str, prefix_last: bool = True) -> Query:
    """The words of ``text`` (folded, deduplicated, at most MAX_QUERY_WORDS). With
    ``prefix_last`` the last word is a prefix unless the query ends in a space (the word is
    finished) or it is too short to narrow anything."""
    words = tokens(text)[:MAX_QUERY_WORDS]
    if not words:
        return Query(())
    finished = text[-1:].isspace()
    if prefix_last and not finished and len(words[-1]) >= MIN_PREFIX:
        return Query(tuple(words[:-1]), words[-1])
    return Query(tuple(words))


def prefix_range(prefix: str) -> tuple[str, str]:
    """The ZRANGEBYLEX bounds of the tokens that start with ``prefix``."""
    return f"[{prefix}", f"[{prefix}\U0010ffff"


def matches(text: str, query: Query) -> bool:
    """Whether ``text`` holds a term of ``query`` (which message a snippet comes from)."""
    toks = tokens(text)
    return any(t in query.words for t in toks) or bool(
        query.prefix and any(t.startswith(query.prefix) for t in toks)
    )


def _folded_with_map(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` and, per folded character, the index of the original one it came from
    (folding drops marks and may expand a letter, so offsets differ)."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        f = fold(ch)
        out.append(f)
        where.extend([i] * len(f))
    return "".join(out), where


@dataclass(frozen=True, slots=True)
class Snippet:
    """A piece of a message: ``parts`` alternate plain text and a match, starting plain."""

    parts: list[str]
    cut_start: bool
    cut_end: bool


def snippet(text: str, query: Query, width: int = 160) -> Snippet:
    """The part of ``text`` around its first match, every match in it marked."""
    folded, where = _folded_with_map(text)
    spans: list[tuple[int, int]] = []
    for m in _WORD.finditer(folded):
        word = m.group()
        hit = word in query.words or word[:MAX_TOKEN] in query.words
        if not hit and query.prefix and word.startswith(query.prefix):
            hit = True
            end = m.start() + len(query.prefix)
        else:
            end = m.end()
        if hit:
            start_i = where[m.start()]
            end_i = where[end - 1] + 1
            spans.append((start_i, end_i))
    first = spans[0][0] if spans else 0
    lo = max(0, first - width // 3)
    hi = min(len(text), lo + width)
    parts: list[str] = []
    pos = lo
    for s, e in spans:
        if s < pos or e > hi:
            continue
        parts += [text[pos:s], text[s:e]]
        pos = e
    parts.append(text[pos:hi])
    return Snippet(parts, lo > 0, hi < len(text))
