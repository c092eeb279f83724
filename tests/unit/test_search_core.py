"""Search's pure core: tokens, the query's plan and the snippet (no Redis)."""

from __future__ import annotations

from chatserver.core.search import (
    MAX_DOC_TOKENS,
    Query,
    doc_update,
    matches,
    parse_query,
    participant,
    prefix_range,
    snippet,
    tokens,
)


def test_tokens_fold_arabic_keyboard_digits_and_marks() -> None:
    assert tokens("يك مشكل") == tokens("یک مشکل") == ["یک", "مشکل"]
    assert tokens("سفارش ۱۲۳۴۵") == tokens("سفارش ١٢٣٤٥") == ["سفارش", "12345"]
    assert tokens("می\u200cخواهم") == ["میخواهم"]  # ZWNJ
    assert tokens("مـــدرسة") == ["مدرسه"]  # tatweel, teh marbuta
    assert tokens("كُتُب") == ["کتب"]  # short vowels
    assert tokens("Hello, HELLO world_wide") == ["hello", "world", "wide"]
    assert tokens("x" * 100) == ["x" * 40]


def test_doc_update_adds_only_new_tokens_and_participants() -> None:
    msgs = [
        ("visitor", "v_1", "سلام سفارش"),
        ("agent", "a_1", "سلام"),
        ("system", "a_1", "transferred"),
        ("note", "a_2", "vip"),
    ]
    up = doc_update(["سلام"], msgs, "Mina", "mina@example.com", ["a_3"])
    assert up.new_tokens == [
        "mina",
        "example",
        "com",
        participant("a_3"),
        "سفارش",
        participant("a_1"),
        participant("a_2"),
        "vip",
    ]
    assert up.all_tokens[0] == "سلام" and "transferred" not in up.all_tokens
    many = doc_update([], [("visitor", "v", " ".join(f"w{i}" for i in range(3000)))])
    assert len(many.all_tokens) == MAX_DOC_TOKENS


def test_query_plan() -> None:
    assert parse_query("يك مشك") == Query(("یک",), "مشک")
    assert parse_query("یک مشک ") == Query(("یک", "مشک"))  # a finished word is exact
    assert parse_query("visitor 4") == Query(("visitor", "4"))  # one letter: exact
    assert parse_query("  ").empty
    assert parse_query("a b c d e f g h i j", prefix_last=False).words == tuple("abcdefgh")
    lo, hi = prefix_range("مش")
    assert lo < "[مشکل" < hi
    assert not lo < "[مس" < hi


def test_snippet_marks_the_match_in_the_original_text() -> None:
    q = parse_query("مشکل 12345 ")
    text = "سلام، يك مشكل با سفارش ۱۲۳۴۵ دارم"
    s = snippet(text, q)
    assert s.parts == ["سلام، يك ", "مشكل", " با سفارش ", "۱۲۳۴۵", " دارم"]
    assert not s.cut_start and not s.cut_end
    assert matches(text, q) and not matches("nothing", q)
    prefixed = snippet("Where is my ORDER?", parse_query("ord"))
    assert prefixed.parts == ["Where is my ", "ORD", "ER?"]
    long = snippet("word " * 100 + "needle " + "word " * 100, parse_query("needle "))
    assert long.cut_start and long.cut_end and long.parts[1] == "needle"
    with_marks = snippet("كُتُب خوب", parse_query("کتب "))
    assert with_marks.parts[1] == "كُتُب"
