"""Help articles without I/O: what an article may hold, the page patterns that pin it to
pages, its Markdown rendered safely, and which articles a search finds.

An article is written in Markdown by the site's admins and supervisors and read by anyone
(the public help page, the widget), so rendering never lets a writer's HTML through: raw
HTML is shown as text, and a link or image is kept only for http, https and mailto.

Search reads every article of the site (at most :data:`MAX_ARTICLES`) and ranks them here:
at that size a scan in Python costs less than keeping a word index in step with edits, and
it folds text exactly as conversation search does (chatserver.core.text.fold and
chatserver.core.search.tokens), so ي/ك and Persian digits find what ی/ک and 0-9 wrote.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from markdown_it import MarkdownIt

from chatserver.core.errors import CodedError
from chatserver.core.search import tokens

MAX_ARTICLES = 500  # per site
MAX_TITLE = 200  # characters, after trimming
MAX_BODY = 20_000  # characters of Markdown
MAX_CATEGORY = 60
MAX_PATTERNS = 20  # page patterns per article
MAX_PATTERN = 500  # characters of one pattern
LANGUAGES = ("en", "fa")
ARTICLE_ID = re.compile(r"^a_[A-Za-z0-9_-]{1,40}$")
MAX_SLUG = 80
_SPACES = re.compile(r"\s+")
_SLUG_WORD = re.compile(r"[^\W_]+")
_PATTERN_CHARS = re.compile(r"^https?://[^\s<>\"'\\]+$")
_SAFE_SCHEMES = ("http:", "https:", "mailto:")


class ArticleError(CodedError):
    """A field an article cannot have; ``code`` names which rule (shown on the admin page)."""


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    title: str
    body: str
    lang: str
    category: str = ""
    published: bool = False
    patterns: tuple[str, ...] = field(default_factory=tuple)
    updated: int = 0

    @property
    def slug(self) -> str:
        return slugify(self.title)

    def summary(self) -> dict[str, Any]:
        """What a list shows of it (no body)."""
        return {
            "id": self.id,
            "title": self.title,
            "lang": self.lang,
            "category": self.category,
            "slug": self.slug,
        }


def _no_controls(text: str, code: str, what: str) -> None:
    # Cc other than newline and tab; Cf would also catch the ZWNJ Persian needs.
    for ch in text:
        if (unicodedata.category(ch) == "Cc" and ch not in "\n\t") or "\u202a" <= ch <= "\u202e":
            raise ArticleError(code, f"{what} cannot hold control characters")


def clean_title(raw: str) -> str:
    """Trimmed, one space between words, NFC; raises ``invalid_title`` unless 1 to 200
    characters."""
    title = _SPACES.sub(" ", unicodedata.normalize("NFC", raw)).strip()
    if not title or len(title) > MAX_TITLE:
        raise ArticleError("invalid_title", f"a title is 1 to {MAX_TITLE} characters")
    _no_controls(title, "invalid_title", "a title")
    return title


def clean_body(raw: str) -> str:
    """The Markdown as stored (line ends made \\n); raises ``invalid_body`` unless 1 to
    20,000 characters."""
    body = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not body or len(body) > MAX_BODY:
        raise ArticleError("invalid_body", f"a body is 1 to {MAX_BODY} characters")
    _no_controls(body, "invalid_body", "a body")
    return body


def clean_lang(raw: str) -> str:
    lang = raw.strip().lower()
    if lang not in LANGUAGES:
        raise ArticleError("invalid_lang", f"the language is one of {', '.join(LANGUAGES)}")
    return lang


def clean_category(raw: str) -> str:
    """Free text in any script, '' for none; raises ``invalid_category`` past 60 characters."""
    category = _SPACES.sub(" ", unicodedata.normalize("NFC", raw)).strip()
    if len(category) > MAX_CATEGORY:
        raise ArticleError("invalid_category", f"a category is at most {MAX_CATEGORY} characters")
    _no_controls(category, "invalid_category", "a category")
    return category


def clean_patterns(raw: str) -> tuple[str, ...]:
    """Page patterns, one a line (or space separated): an http(s) URL in which ``*`` stands
    for any run of characters (``https://shop.example/checkout*``). Duplicates are dropped;
    raises ``invalid_pattern`` for anything else, ``too_many_patterns`` past 20."""
    out: dict[str, None] = {}
    for pattern in raw.split():
        if len(pattern) > MAX_PATTERN or not _PATTERN_CHARS.match(pattern):
            raise ArticleError(
                "invalid_pattern",
                f"a page pattern is an http(s) URL with * for any text: {pattern[:80]!r}",
            )
        host = pattern.split("/", 3)[2]
        if not host:
            raise ArticleError("invalid_pattern", f"a page pattern names a host: {pattern[:80]!r}")
        out[pattern] = None
    if len(out) > MAX_PATTERNS:
        raise ArticleError("too_many_patterns", f"an article has at most {MAX_PATTERNS} patterns")
    return tuple(out)


def pattern_matches(pattern: str, url: str) -> bool:
    """Whether page ``url`` is one ``pattern`` names: ``*`` is any text (even none), every
    other character itself; the whole URL must match (a trailing ``*`` takes the rest)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, url, flags=re.DOTALL) is not None


def pinned_to(article: Article, url: str) -> bool:
    return bool(url) and any(pattern_matches(p, url) for p in article.patterns)


def slugify(title: str) -> str:
    """The readable part of an article's address: its title's words, lower case, joined by
    hyphens (Persian words stay Persian; browsers show them as typed)."""
    words = _SLUG_WORD.findall(unicodedata.normalize("NFC", title).casefold())
    return "-".join(words)[:MAX_SLUG].strip("-")


# --- rendering --------------------------------------------------------------------------
def _validate_link(url: str) -> bool:
    # The renderer calls this for every link and image, after decoding entities: anything
    # but these schemes (javascript:, data:, a relative path that could be made one) is
    # left as the text the writer typed.
    return url.strip().lower().startswith(_SAFE_SCHEMES)


def _markdown() -> MarkdownIt:
    # js-default: CommonMark with tables and strikethrough, raw HTML off (markdown-it-py's
    # own default lets HTML through), no linkify, no typographer.
    md = MarkdownIt("js-default", {"html": False})
    md.validateLink = _validate_link  # type: ignore[method-assign]

    def link_open(self: Any, tokens_: Any, idx: int, options: Any, env: Any) -> str:
        # Writers' links open outside the page and tell the target nothing of it.
        tokens_[idx].attrSet("rel", "nofollow noopener noreferrer")
        tokens_[idx].attrSet("target", "_blank")
        return str(self.renderToken(tokens_, idx, options, env))

    md.add_render_rule("link_open", link_open)
    return md


_MD = _markdown()


def render_markdown(body: str) -> str:
    """The article's body as HTML safe to insert into a page: no element or attribute the
    writer typed as HTML, links only to http, https and mailto."""
    return str(_MD.render(body))


# --- storage records --------------------------------------------------------------------
def encode(article: Article) -> str:
    """An article's stored record (the site's articles hash, keyed by its id)."""
    return orjson.dumps(
        {
            "title": article.title,
            "body": article.body,
            "lang": article.lang,
            "category": article.category,
            "published": article.published,
            "patterns": list(article.patterns),
            "updated": article.updated,
        }
    ).decode()


def decode(article_id: str, raw: str) -> Article | None:
    """The article a stored record holds; None when it is not one (never guessed at)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in ("title", "body", "lang")
    ):
        return None
    patterns = data.get("patterns")
    return Article(
        id=article_id,
        title=data["title"],
        body=data["body"],
        lang=data["lang"] if data["lang"] in LANGUAGES else "en",
        category=str(data.get("category") or ""),
        published=data.get("published") is True,
        patterns=tuple(p for p in patterns if isinstance(p, str))
        if isinstance(patterns, list)
        else (),
        updated=int(data.get("updated") or 0),
    )


def site_articles(stored: Mapping[str, str]) -> list[Article]:
    """The site's articles from its hash, by category then title (as the lists show them)."""
    found = [a for i, raw in stored.items() if (a := decode(i, raw)) is not None]
    return sorted(found, key=lambda a: (a.category.casefold(), a.title.casefold(), a.id))


def by_category(articles: Iterable[Article]) -> list[tuple[str, list[Article]]]:
    """Articles grouped by category, in the order given ('' — no category — last)."""
    groups: dict[str, list[Article]] = {}
    for article in articles:
        groups.setdefault(article.category, []).append(article)
    return sorted(groups.items(), key=lambda g: (g[0] == "", g[0].casefold()))


def find(articles: Iterable[Article], ref: str) -> Article | None:
    """The article ``ref`` names: its id, or its slug (the first by id when two share one)."""
    listed = list(articles)
    for article in listed:
        if article.id == ref:
            return article
    for article in sorted(listed, key=lambda a: a.id):
        if article.slug == ref:
            return article
    return None


# --- search -----------------------------------------------------------------------------
def search(
    articles: Iterable[Article], query: str, limit: int = 50, every: bool = True
) -> list[Article]:
    """Articles holding every word of ``query`` (its last word as a prefix, as it is still
    being typed), best first: title words count more than body words. With ``every`` False
    (the widget's suggestions, where a visitor writes a sentence, not keywords) an article
    holding any of the words is found, those holding more of them first. An empty query
    finds nothing."""
    words = tokens(query)
    if not words:
        return []
    scored: list[tuple[int, Article]] = []
    for article in articles:
        title = tokens(article.title)
        text = set(title) | set(tokens(article.category)) | set(tokens(article.body))
        score = 0
        for n, word in enumerate(words):
            last = n == len(words) - 1 and len(word) >= 2
            hit = [t for t in text if t == word or (last and t.startswith(word))]
            if not hit and every:
                break
            if hit:
                score += 1 + 3 * any(t in title for t in hit)
        else:
            if score:
                scored.append((score, article))
    scored.sort(key=lambda s: (-s[0], s[1].title.casefold(), s[1].id))
    return [a for _, a in scored[:limit]]
