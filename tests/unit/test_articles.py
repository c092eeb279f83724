"""Help articles without Redis: what a field may hold, the page patterns, Markdown rendered
so nothing a writer types runs in a reader's page, and search folding Persian and Arabic
letter forms and digits as conversation search does."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from chatserver.core.articles import (
    MAX_BODY,
    MAX_PATTERNS,
    MAX_TITLE,
    Article,
    ArticleError,
    by_category,
    clean_body,
    clean_category,
    clean_lang,
    clean_patterns,
    clean_title,
    decode,
    encode,
    find,
    pattern_matches,
    pinned_to,
    render_markdown,
    search,
    slugify,
)


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The elements a browser would build from ``html``, with their attributes."""
    parser = _Elements()
    parser.feed(html)
    return parser.found


def code_of(fn: object, *args: str) -> str:
    with pytest.raises(ArticleError) as caught:
        fn(*args)  # type: ignore[operator]
    return caught.value.code


def test_fields_are_cleaned_or_refused_with_their_code() -> None:
    assert clean_title("  Where is\n my   order? ") == "Where is my order?"
    assert clean_title("ن" * MAX_TITLE) == "ن" * MAX_TITLE
    assert code_of(clean_title, "x" * (MAX_TITLE + 1)) == "invalid_title"
    assert code_of(clean_title, "   ") == "invalid_title"
    assert code_of(clean_title, "bell\x07") == "invalid_title"
    assert code_of(clean_title, "flip\u202eme") == "invalid_title"
    assert clean_title("می\u200cخواهم") == "می\u200cخواهم"  # ZWNJ is part of Persian words
    assert clean_body("a\r\nb\rc\n") == "a\nb\nc"
    assert clean_body("x" * MAX_BODY) == "x" * MAX_BODY
    assert code_of(clean_body, "x" * (MAX_BODY + 1)) == "invalid_body"
    assert code_of(clean_body, "") == "invalid_body"
    assert code_of(clean_body, "nul\x00") == "invalid_body"
    assert clean_lang(" FA ") == "fa"
    assert code_of(clean_lang, "de") == "invalid_lang"
    assert clean_category("  پرداخت  و   ارسال ") == "پرداخت و ارسال"
    assert clean_category("") == ""
    assert code_of(clean_category, "c" * 61) == "invalid_category"


def test_page_patterns_are_validated_and_match_as_globs() -> None:
    raw = "https://shop.example/checkout*\n  https://shop.example/checkout*  http://*.shop.example/faq"
    assert clean_patterns(raw) == ("https://shop.example/checkout*", "http://*.shop.example/faq")
    assert clean_patterns("") == ()
    for bad in (
        "shop.example/checkout",
        "javascript:alert(1)",
        "ftp://x/y",
        "https:///x",
        'https://a/"x',
        "https://a/<b>",
        "https://" + "a" * 600,
    ):
        assert code_of(clean_patterns, bad) == "invalid_pattern", bad
    many = " ".join(f"https://a.example/{i}" for i in range(MAX_PATTERNS + 1))
    assert code_of(clean_patterns, many) == "too_many_patterns"

    p = "https://shop.example/checkout*"
    assert pattern_matches(p, "https://shop.example/checkout")
    assert pattern_matches(p, "https://shop.example/checkout/pay?step=2")
    assert not pattern_matches(p, "https://shop.example/cart")
    assert not pattern_matches(p, "https://evil.example/?https://shop.example/checkout")
    # Regex characters in a pattern are themselves: '.' is a dot, '?' a question mark.
    assert not pattern_matches("https://shop.example/a?b", "https://shop.example/ab")
    assert pattern_matches("https://shop.example/a?b", "https://shop.example/a?b")
    assert not pattern_matches("https://shop.example/x", "https://shopXexample/x")
    assert pattern_matches("https://*.shop.example/*", "https://fa.shop.example/help")
    article = Article("a_1", "T", "b", "en", patterns=(p,))
    assert pinned_to(article, "https://shop.example/checkout/1")
    assert not pinned_to(article, "")


def test_markdown_renders_and_nothing_a_writer_types_runs() -> None:
    html = render_markdown("# Pay\n\n**bold** and [docs](https://shop.example/docs)\n\n- a\n- b")
    assert "<h1>Pay</h1>" in html and "<strong>bold</strong>" in html and "<li>a</li>" in html
    assert 'href="https://shop.example/docs"' in html and 'rel="nofollow noopener' in html
    assert 'href="mailto:help@shop.example"' in render_markdown("[m](mailto:help@shop.example)")
    evil = render_markdown(
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](&#106;avascript:alert(1)) "
        "[d](data:text/html;base64,PHNjcmlwdD4=) [e](vbscript:x) [f](/relative) "
        "![g](javascript:alert(1)) <a href='javascript:alert(1)'>h</a> "
        '<div onclick="alert(1)">i</div>'
    )
    assert elements(evil) == [("p", [])] * 3  # paragraphs of text, no attribute at all
    assert "&lt;script&gt;" in evil  # shown as text, not dropped silently
    assert "<table>" in render_markdown("| a | b |\n|---|---|\n| 1 | 2 |")


def test_records_round_trip_and_bad_ones_are_skipped() -> None:
    a = Article("a_x", "عنوان", "متن", "fa", "دسته", True, ("https://a.example/*",), 5)
    assert decode("a_x", encode(a)) == a
    assert decode("a_x", "not json") is None
    assert decode("a_x", '{"title": 1}') is None
    assert decode("a_x", '{"title": "t", "body": "b", "lang": "xx"}') == Article(
        "a_x", "t", "b", "en"
    )


def test_slugs_lists_and_lookup() -> None:
    assert slugify("Where is my order?") == "where-is-my-order"
    assert slugify("پیگیری سفارش ۱۲") == "پیگیری-سفارش-۱۲"
    one = Article("a_1", "Refunds", "b", "en", "Payments")
    two = Article("a_2", "Delivery times", "b", "en", "")
    three = Article("a_3", "Cards", "b", "en", "Payments")
    groups = by_category([one, two, three])
    assert [(c, [a.id for a in items]) for c, items in groups] == [
        ("Payments", ["a_1", "a_3"]),
        ("", ["a_2"]),
    ]
    assert find([one, two], "a_2") is two
    assert find([one, two], "delivery-times") is two
    assert find([one, two], "nothing") is None


def test_search_folds_letter_forms_and_digits_and_ranks_titles_first() -> None:
    refund = Article("a_1", "بازگرداندن کالا", "برای بازگشت وجه کیف پول را ببینید", "fa")
    wallet = Article("a_2", "کیف پول", "شارژ کیف پول با کارت", "fa")
    code = Article("a_3", "کد تخفیف ۱۲۳۴", "کدهای تخفیف", "fa")
    english = Article("a_4", "Wallet top-up", "Use a card to top up your WALLET", "en")
    items = [refund, wallet, code, english]
    # ك and ي (an Arabic keyboard) find ک and ی; the title's match ranks first.
    assert search(items, "كيف") == [wallet, refund]
    assert search(items, "كيف پول") == [wallet, refund]
    assert search(items, "1234") == [code]  # Persian digits written, Latin typed
    assert search(items, "١٢٣٤") == [code]  # Arabic-Indic typed
    assert search(items, "wal") == [english]  # the last word is a prefix while typing
    assert search(items, "wallet zzz") == []  # every word must match
    # The widget's suggestions: any word, more of them first.
    assert search(items, "how do I top up my wallet", every=False) == [english]
    assert search(items, "كيف شارژ", every=False) == [wallet, refund]
    assert search(items, "zzz", every=False) == []
    assert search(items, "") == [] and search(items, "  !! ") == []
    assert search(items, "تخفیف", limit=0) == []
