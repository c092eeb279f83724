"""Canned responses as agents write them: the shortcut that finds one and the variables its
text may carry (checked here when it is saved; the console fills them in before sending).

A shortcut is 1-32 letters or digits of any script, ``-`` and ``_``, first a letter or digit.
It is stored in one canonical form (:func:`shortcut_key`: NFC, the Persian letter forms,
ASCII digits, lower case) so ``/سلام`` typed on a Persian or an Arabic keyboard, ``/Hello``
and ``/hello`` find the same entry; the console folds what is typed the same way.

Variables are ``{name}`` (the visitor's name), ``{agent}`` (the sending agent's display
name) and ``{site}`` (the site's display name), each optionally with a fallback used when the
value is unknown: ``{name|friend}``. Without a fallback an unknown value goes with the space
before it ("Hi {name}," -> "Hi,"). Any other ``{…}`` is refused when the text is saved, so
nothing in braces reaches a visitor literally.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from chatserver.core.text import fold

SHORTCUT_MAX = 32
TEXT_MAX = 4000
FALLBACK_MAX = 100
# At most this many personal canned responses per agent (the shared set has no such limit).
PERSONAL_MAX = 200
VARIABLES = ("name", "agent", "site")

# Anything in braces is meant as a variable: what is not one is refused, not sent as typed.
_BRACED = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class CannedProblem:
    """Why a canned response cannot be saved: ``code`` for programs (the console's errors,
    the admin page's message key), ``typed`` the offending part as written."""

    code: str  # 'invalid_shortcut' | 'invalid_text' | 'unknown_variable' | 'invalid_fallback'
    typed: str = ""

    @property
    def message(self) -> str:
        if self.code == "invalid_shortcut":
            return (
                f"a shortcut is 1-{SHORTCUT_MAX} letters or digits (any script), - or _,"
                " starting with a letter or digit"
            )
        if self.code == "invalid_text":
            return f"the text is 1-{TEXT_MAX} characters"
        if self.code == "unknown_variable":
            return (
                f"unknown variable {self.typed}: use {{name}}, {{agent}} or {{site}},"
                " optionally with a fallback such as {name|friend}"
            )
        return (
            f"the fallback in {self.typed} is too long or has braces"
            f" (at most {FALLBACK_MAX} characters)"
        )


def _word_char(c: str) -> bool:
    return unicodedata.category(c)[0] in "LN" or c in "-_"


def shortcut_key(typed: str) -> str | None:
    """The canonical form of a typed shortcut (a leading ``/`` allowed), or None when it is
    not a valid one. Two shortcuts that fold to the same key are the same entry."""
    key = fold(unicodedata.normalize("NFC", typed.strip().removeprefix("/")))
    key = unicodedata.normalize("NFC", key)
    if not 1 <= len(key) <= SHORTCUT_MAX or not all(_word_char(c) for c in key):
        return None
    if key[0] in "-_":
        return None
    return key


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    fallback: str | None  # None: no fallback given ('' is an empty one)


def variables(text: str) -> tuple[list[Variable], list[CannedProblem]]:
    """The variables of ``text`` in order, and the problems of the braced parts that are not
    valid variables."""
    found: list[Variable] = []
    problems: list[CannedProblem] = []
    for match in _BRACED.finditer(text):
        name, bar, fallback = match.group(1).partition("|")
        if name not in VARIABLES:
            problems.append(CannedProblem("unknown_variable", match.group(0)[:60]))
        elif len(fallback) > FALLBACK_MAX:
            problems.append(CannedProblem("invalid_fallback", match.group(0)[:60]))
        else:
            found.append(Variable(name, fallback if bar else None))
    return found, problems


def check(typed_shortcut: str, typed_text: str) -> tuple[str, str, list[CannedProblem]]:
    """The canonical shortcut, the text (trimmed) and every problem with them: what the admin
    page, the console's personal set and any other writer check before saving."""
    problems: list[CannedProblem] = []
    shortcut = shortcut_key(typed_shortcut)
    if shortcut is None:
        problems.append(CannedProblem("invalid_shortcut", typed_shortcut[:40]))
    text = unicodedata.normalize("NFC", typed_text.strip())
    if not text or len(text) > TEXT_MAX:
        problems.append(CannedProblem("invalid_text"))
    else:
        problems += variables(text)[1]
    return shortcut or "", text, problems


def by_usage(
    items: list[dict[str, object]], query: str = "", limit: int | None = None
) -> list[dict[str, object]]:
    """The entries whose shortcut starts with ``query`` (folded), then those that only
    contain it; in each group the most used shortcuts first (``uses``; a shortcut in both
    sets counts its busier entry), then by shortcut, the personal entry before the shared
    one of the same shortcut. The console lists them in this order (agent-canned.js applies
    the same rule to what is typed)."""
    q = (shortcut_key(query) or "") if query else ""

    def uses(item: dict[str, object]) -> int:
        n = item.get("uses", 0)
        return n if isinstance(n, int) else 0

    busiest: dict[str, int] = {}
    for item in items:
        s = str(item.get("shortcut", ""))
        busiest[s] = max(busiest.get(s, 0), uses(item))

    def order(item: dict[str, object]) -> tuple[int, str, int]:
        s = str(item.get("shortcut", ""))
        return (-busiest[s], s, 0 if item.get("scope") == "personal" else 1)

    prefix = [i for i in items if str(i.get("shortcut", "")).startswith(q)]
    inner = [i for i in items if not str(i.get("shortcut", "")).startswith(q)]
    inner = [i for i in inner if q in str(i.get("shortcut", ""))]
    found = sorted(prefix, key=order) + sorted(inner, key=order)
    return found if limit is None else found[:limit]
