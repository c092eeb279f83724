from __future__ import annotations

import pytest

from chatserver.widget_routes import choose_locale, color_or, compact, frame_ancestors


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        (("fa-IR",), "fa"),
        (("", None, "fa"), "fa"),
        (("de", "fa_IR"), "fa"),  # an unsupported locale gives way to the next candidate
        (("de-DE,de;q=0.9,fa;q=0.8",), "fa"),  # an Accept-Language header
        (("EN-us", "fa"), "en"),
        (("de", None, ""), "en"),
    ],
)
def test_first_supported_locale_wins(candidates: tuple[str | None, ...], expected: str) -> None:
    assert choose_locale(*candidates) == expected


def test_only_hex_colours() -> None:
    assert color_or("#0f766e", "#000") == "#0f766e"
    assert color_or("#abc", "#000") == "#abc"
    for bad in ("red", "#12345", "#0f766e;background:url(x)", "", None):
        assert color_or(bad, "#000") == "#000"


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        ("*", "*"),
        (
            "https://shop.example, http://localhost:8080/",
            "'self' https://shop.example http://localhost:8080",
        ),
        ("https://a.example https://b.example;script-src 'none'", "'self' https://a.example"),
        ("", "'self'"),
    ],
)
def test_frame_ancestors_are_plain_origins(allowed: str, expected: str) -> None:
    assert frame_ancestors(allowed) == expected


def test_compact_keeps_lines_and_code_but_not_comments() -> None:
    js = "// header\n(() => {\n  const a = 1; // kept: code before it\n\n  // gone\n  return a;\n"
    js += "})();\n"
    assert (
        compact("x.js", js) == "(() => {\nconst a = 1; // kept: code before it\nreturn a;\n})();\n"
    )
    spanning = "const s = `one\n  two`;\n"
    assert compact("x.js", spanning) == spanning  # a template literal's lines are content
    css = "/* note */\n.a :focus-visible,\n.b > .c {\n  color: red;\n  margin: 0 auto;\n}\n"
    assert compact("x.css", css) == ".a :focus-visible,.b > .c{color: red;margin: 0 auto;}"
