"""Canned responses' shortcuts (any script, folded for matching) and variables (checked when
saved), and the order the picker lists them in (chatserver/core/canned.py)."""

from __future__ import annotations

import pytest

from chatserver.core.canned import (
    SHORTCUT_MAX,
    TEXT_MAX,
    Variable,
    by_usage,
    check,
    shortcut_key,
    variables,
)


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("/hello", "hello"),
        ("Hello", "hello"),
        ("/سلام", "سلام"),
        ("/خوش-آمد", "خوش-آمد"),
        ("تشكر", "تشکر"),  # Arabic kaf -> keheh
        ("/خيلي", "خیلی"),  # Arabic yeh -> Persian yeh
        ("کد۱۲", "کد12"),  # Persian digits
        ("کد١٢", "کد12"),  # Arabic-Indic digits
        ("a_b-9", "a_b-9"),
        ("e\u0301t\u00e9", "\u00e9t\u00e9"),  # NFC: a composed é either way
        ("x" * SHORTCUT_MAX, "x" * SHORTCUT_MAX),
    ],
)
def test_valid_shortcuts_fold_to_one_key(typed: str, key: str) -> None:
    assert shortcut_key(typed) == key


@pytest.mark.parametrize(
    "typed",
    ["", "/", "-start", "_start", "two words", "a/b", "x" * (SHORTCUT_MAX + 1), "hi!", "{name}"],
)
def test_invalid_shortcuts_are_refused(typed: str) -> None:
    assert shortcut_key(typed) is None
    assert [p.code for p in check(typed, "text")[2]] == ["invalid_shortcut"]


def test_persian_and_arabic_keyboards_find_the_same_entry() -> None:
    assert shortcut_key("/كمك") == shortcut_key("/کمک") == "کمک"
    assert shortcut_key("يادداشت") == shortcut_key("یادداشت")


def test_variables_and_their_fallbacks() -> None:
    found, problems = variables("سلام {name|دوست}، من {agent} از {site} هستم {name|}")
    assert problems == []
    assert found == [
        Variable("name", "دوست"),
        Variable("agent", None),
        Variable("site", None),
        Variable("name", ""),
    ]


@pytest.mark.parametrize(
    ("text", "code", "typed"),
    [
        ("Hi {foo}", "unknown_variable", "{foo}"),
        ("Hi {Name}", "unknown_variable", "{Name}"),
        ("Hi { name }", "unknown_variable", "{ name }"),
        ("Hi {}", "unknown_variable", "{}"),
        ("Hi {foo|bar}", "unknown_variable", "{foo|bar}"),
        ("Hi {name|" + "x" * 101 + "}", "invalid_fallback", "{name|" + "x" * 54),
    ],
)
def test_anything_else_in_braces_is_refused(text: str, code: str, typed: str) -> None:
    shortcut, _, problems = check("hi", text)
    assert shortcut == "hi"
    assert [(p.code, p.typed) for p in problems] == [(code, typed)]
    assert typed[:10] in problems[0].message or code == "invalid_fallback"


def test_unbalanced_braces_are_plain_text() -> None:
    assert check("hi", "a { b")[2] == []
    assert check("hi", "a } b {name}")[2] == []


def test_text_length_and_trimming() -> None:
    assert check("hi", "  hello  ")[1] == "hello"
    assert [p.code for p in check("hi", "   ")[2]] == ["invalid_text"]
    assert [p.code for p in check("hi", "x" * (TEXT_MAX + 1))[2]] == ["invalid_text"]
    assert check("hi", "x" * TEXT_MAX)[2] == []
    assert [p.code for p in check("-", "")[2]] == ["invalid_shortcut", "invalid_text"]


def test_the_picker_order_most_used_first_personal_before_shared() -> None:
    items: list[dict[str, object]] = [
        {"shortcut": "hello", "scope": "shared", "uses": 2},
        {"shortcut": "help", "scope": "shared", "uses": 5},
        {"shortcut": "hello", "scope": "personal", "uses": 0},
        {"shortcut": "oh-hey", "scope": "shared", "uses": 9},
        {"shortcut": "hey", "scope": "personal", "uses": 2},
    ]
    order = [(i["shortcut"], i["scope"]) for i in by_usage(items, "/HE")]
    assert order == [
        ("help", "shared"),
        ("hello", "personal"),  # same shortcut: both, personal first, ranked by the busier
        ("hello", "shared"),
        ("hey", "personal"),
        ("oh-hey", "shared"),  # contains the query only: after every prefix match
    ]
    assert len(by_usage(items, "", limit=2)) == 2
    assert [i["shortcut"] for i in by_usage(items, "كم")] == []
