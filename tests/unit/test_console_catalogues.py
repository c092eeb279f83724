"""The console's catalogues are complete: every key the templates, scripts and routes use is in
every language, with the same placeholders and plural shape, and no catalogue keeps a key
nothing uses (docs/i18n.md).

A use is any quoted string literal that is a whole key (``'auth.sign_in'``, ``"console.send"``)
in console/templates, console/static or console/*.py: keys are always written out in full.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from console import i18n

ROOT = Path(__file__).resolve().parents[2] / "console"
AREAS = sorted(p.stem for p in (i18n.I18N_DIR / "en").glob("*.json"))
NOT_KEYS = frozenset({"html", "js", "css", "json", "py", "png", "svg"})


def used_keys(root: Path = ROOT) -> dict[str, set[str]]:
    """Every key used, with the files that use it."""
    areas = "|".join(AREAS)
    literal = re.compile(rf"""(["'`])((?:{areas})\.[a-z][a-z0-9_]*)\1""")
    files = [
        *root.glob("templates/*.html"),
        *root.glob("static/*.js"),
        *root.glob("*.py"),
    ]
    found: dict[str, set[str]] = {}
    for path in files:
        for match in literal.finditer(path.read_text(encoding="utf-8")):
            key = match.group(2)
            if key.rsplit(".", 1)[1] not in NOT_KEYS:
                found.setdefault(key, set()).add(path.name)
    return found


def test_the_english_catalogue_is_loaded() -> None:
    assert set(i18n.CATALOGUES) == set(i18n.LOCALES)
    assert i18n.translate("en", "common.brand") == "Chat console"
    assert len(used_keys()) > 100


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_used_key_is_in_every_language(locale: str) -> None:
    catalogue = i18n.CATALOGUES[locale]
    missing = {k: sorted(v) for k, v in used_keys().items() if k not in catalogue}
    assert not missing, f"{locale} lacks {missing}"


def test_no_catalogue_keeps_an_unused_key() -> None:
    used = used_keys()
    unused = sorted(k for k in i18n.CATALOGUES["en"] if k not in used)
    assert not unused, f"nothing uses {unused}"


@pytest.mark.parametrize("locale", [loc for loc in i18n.LOCALES if loc != "en"])
def test_languages_agree_on_keys_placeholders_and_plurals(locale: str) -> None:
    english, other = i18n.CATALOGUES["en"], i18n.CATALOGUES[locale]
    assert sorted(set(other) - set(english)) == [], "keys English does not have"
    for key, entry in english.items():
        theirs = other.get(key)
        assert theirs is not None, f"{locale} lacks {key}"
        assert isinstance(theirs, dict) == isinstance(entry, dict), f"{key}: plural in one only"
        assert i18n.placeholders(theirs) == i18n.placeholders(entry), f"{key}: placeholders"
        if isinstance(entry, dict):
            assert "one" in entry and "one" in theirs, f"{key}: en and fa need 'one'"
            for form in entry.values():
                assert "{n}" in form or "n" not in i18n.placeholders(entry), key


def test_the_test_fails_when_a_catalogue_misses_a_string(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "x.html").write_text("{{ t('common.no_such_string') }}")
    used = used_keys(tmp_path)
    assert "common.no_such_string" in used
    assert "common.no_such_string" not in i18n.CATALOGUES["fa"]


def test_plural_rules_match_cldr() -> None:
    assert [i18n.plural_category("en", n) for n in (0, 1, 2, 1.5)] == [
        "other",
        "one",
        "other",
        "other",
    ]
    assert [i18n.plural_category("fa", n) for n in (0, 1, 2, 0.5, 1.5)] == [
        "one",
        "one",
        "other",
        "one",
        "other",
    ]


def test_numbers_dates_and_the_choice_of_language() -> None:
    assert i18n.format_number("fa", 12345) == "۱۲٬۳۴۵"
    assert i18n.to_jalali(2024, 3, 20) == (1403, 1, 1)
    assert i18n.to_jalali(2026, 12, 1) == (1405, 9, 10)
    fa = i18n.PageLocale("fa", "persian")
    assert fa.dir == "rtl" and fa.intl_tag == "fa-IR-u-ca-persian"
    assert "آذر ۱۴۰۵" in i18n.format_datetime(fa, 1796000000000)
    assert i18n.choose_locale("", "fa-IR,fa;q=0.9,en;q=0.8") == "fa"
    assert i18n.choose_locale("en", "fa-IR") == "en"
    assert i18n.choose_locale("", "de, en;q=0.1") == "en"
    assert i18n.choose_locale("", "de", "fa") == "fa"
    assert i18n.page_locale({"lang": "fa", "calendar": "gregory"}, "").intl_tag == (
        "fa-IR-u-ca-gregory"
    )
