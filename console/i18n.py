"""The console's languages: catalogues, the choice of language and calendar, and the
helpers the templates use (docs/i18n.md).

Catalogues live in ``console/i18n/<locale>/<area>.json``; a key is ``<area>.<name>`` (the
file's name, a dot, the name inside it). An entry is a string with ``{placeholders}``, or a
plural ``{"one": ..., "other": ...}`` chosen by the ``n`` placeholder with the CLDR rules of
the locale. They are read and checked once, when this module is imported: a malformed file
stops the server at start rather than showing a half-translated page later. A key missing in
one language falls back to English (tests/unit/test_console_catalogues.py fails on it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

I18N_DIR = Path(__file__).parent / "i18n"
DEFAULT_LOCALE = "en"
LOCALES = ("en", "fa")
NATIVE_NAMES = {"en": "English", "fa": "فارسی"}
RTL_LOCALES = frozenset({"fa"})
# The region each language's dates are written for (Intl's defaults for "fa" are Iran's).
INTL_TAGS = {"en": "en", "fa": "fa-IR"}
CALENDARS = ("gregory", "persian")
DEFAULT_CALENDAR = {"en": "gregory", "fa": "persian"}
PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
KEY = re.compile(r"^[a-z][a-z0-9_]*$")

Entry = str | dict[str, str]
Catalogue = dict[str, Entry]


def _load_locale(directory: Path) -> Catalogue:
    """Every area of one language, keyed ``<area>.<name>``; raises ValueError when a file is
    not an object of strings and plural objects."""
    out: Catalogue = {}
    for path in sorted(directory.glob("*.json")):
        area = path.stem
        data = orjson.loads(path.read_bytes())
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a JSON object")
        for name, entry in data.items():
            if not KEY.match(name):
                raise ValueError(f"{path}: key {name!r} is not lower_snake_case")
            out[f"{area}.{name}"] = _checked(path, name, entry)
    return out


def _checked(path: Path, name: str, entry: object) -> Entry:
    if isinstance(entry, str):
        return entry
    if (
        isinstance(entry, dict)
        and "other" in entry
        and set(entry) <= PLURAL_FORMS
        and all(isinstance(v, str) for v in entry.values())
    ):
        return {str(k): str(v) for k, v in entry.items()}
    raise ValueError(f"{path}: {name!r} is neither a string nor a plural with 'other'")


def load_catalogues(root: Path = I18N_DIR) -> dict[str, Catalogue]:
    return {loc: _load_locale(root / loc) for loc in LOCALES if (root / loc).is_dir()}


CATALOGUES = load_catalogues()


def placeholders(entry: Entry) -> frozenset[str]:
    texts = entry.values() if isinstance(entry, dict) else [entry]
    return frozenset(name for text in texts for name in PLACEHOLDER.findall(text))


# --- plurals, numbers ----------------------------------------------------------------------


def plural_category(locale: str, n: float) -> str:
    """CLDR's cardinal category of ``n`` (the same answer as Intl.PluralRules in the browser).

    English: one for exactly 1. Persian: one for 0 ≤ n < 2 with integer part 0, and for 1
    (CLDR's ``i = 0 or n = 1``); every other number is other.
    """
    if locale == "fa":
        return "one" if int(n) == 0 or n == 1 else "other"
    return "one" if n == 1 else "other"


_PERSIAN_DIGITS = str.maketrans("0123456789.,-", "۰۱۲۳۴۵۶۷۸۹٫٬−")


def format_number(locale: str, n: float) -> str:
    """``n`` grouped by thousands in the locale's digits (1,234 / ۱٬۲۳۴, as Intl writes it)."""
    text = f"{n:,}" if isinstance(n, int) else f"{n:,.2f}".rstrip("0").rstrip(".")
    return text.translate(_PERSIAN_DIGITS) if locale == "fa" else text


def translate(locale: str, key: str, **values: Any) -> str:
    """The text of ``key`` in ``locale`` (English when it has none, the key itself when no
    language has it), the plural chosen by ``n``, placeholders filled in; numbers come out in
    the locale's digits."""
    entry = CATALOGUES.get(locale, {}).get(key)
    if entry is None:
        entry = CATALOGUES.get(DEFAULT_LOCALE, {}).get(key, key)
    if isinstance(entry, dict):
        n = values.get("n", 0)
        category = plural_category(locale, n if isinstance(n, int | float) else 0)
        entry = entry.get(category, entry["other"])

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return match.group(0)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return format_number(locale, value)
        return str(value)

    return PLACEHOLDER.sub(fill, entry)


@dataclass(frozen=True, slots=True)
class Message:
    """A text to show, as a key and its values, translated when the page renders: a route
    knows what to say before it knows the reader's language
    (``msg("auth.error_wrong_password")``)."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


def msg(key: str, **values: Any) -> Message:
    return Message(key, values)


# --- which language and calendar -----------------------------------------------------------


def accepted_languages(header: str) -> list[str]:
    """The primary language subtags of an Accept-Language header, most wanted first."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]


def choose_locale(saved: str, accept_language: str, site_default: str = "") -> str:
    """The agent's saved choice; else the first language of the browser's we speak; else the
    site's default locale; else English."""
    if saved in LOCALES:
        return saved
    for tag in accepted_languages(accept_language):
        if tag in LOCALES:
            return tag
    site = site_default.split("-")[0].lower()
    return site if site in LOCALES else DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class PageLocale:
    """The language of one rendered page: what base.html writes into ``<html>`` and what the
    scripts read from the page's ``#i18n`` block."""

    locale: str = DEFAULT_LOCALE
    calendar: str = "gregory"

    @property
    def dir(self) -> str:
        return "rtl" if self.locale in RTL_LOCALES else "ltr"

    @property
    def intl_tag(self) -> str:
        """The BCP 47 tag for Intl, with the calendar: fa-IR-u-ca-persian, en-u-ca-gregory."""
        return f"{INTL_TAGS.get(self.locale, self.locale)}-u-ca-{self.calendar}"


def page_locale(
    account: dict[str, str] | None, accept_language: str, site_default: str = ""
) -> PageLocale:
    """The page's language and calendar for the signed-in ``account`` (None on the sign-in
    pages): its saved choices (fields ``lang`` and ``calendar``), else the defaults."""
    saved = account or {}
    locale = choose_locale(saved.get("lang", ""), accept_language, site_default)
    calendar = saved.get("calendar", "")
    return PageLocale(locale, calendar if calendar in CALENDARS else DEFAULT_CALENDAR[locale])


# --- dates ---------------------------------------------------------------------------------

# Month names, one string each so a line stays readable (split on spaces).
_MONTHS = {
    "fa-persian": "فروردین اردیبهشت خرداد تیر مرداد شهریور مهر آبان آذر دی بهمن اسفند",
    "fa-gregory": "ژانویه فوریه مارس آوریل مه ژوئن ژوئیه اوت سپتامبر اکتبر نوامبر دسامبر",
    "en-persian": "Farvardin Ordibehesht Khordad Tir Mordad Shahrivar "
    "Mehr Aban Azar Dey Bahman Esfand",
    "en-gregory": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
}


def to_jalali(gy: int, gm: int, gd: int) -> tuple[int, int, int]:
    """A Gregorian date in the Solar Hijri (Jalali) calendar, as Iran uses it (the
    arithmetic of jdf.scr.ir, exact for 1800-2200, the years this server meets)."""
    g_days = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
    gy2 = gy + 1 if gm > 2 else gy
    days = (
        355666
        + 365 * gy
        + (gy2 + 3) // 4
        - (gy2 + 99) // 100
        + (gy2 + 399) // 400
        + gd
        + g_days[gm - 1]
    )
    jy = -1595 + 33 * (days // 12053)
    days %= 12053
    jy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        jy += (days - 1) // 365
        days = (days - 1) % 365
    if days < 186:
        return jy, 1 + days // 31, 1 + days % 31
    return jy, 7 + (days - 186) // 30, 1 + (days - 186) % 30


def format_datetime(loc: PageLocale, ms: int | str | None) -> str:
    """A stored time (ms since the epoch) as "5 Mehr 1405, 14:03 UTC" in the page's language
    and calendar (in UTC: the server knows no reader's zone; the scripts show times in the
    browser's); '' for none."""
    value = int(ms or 0)
    if value <= 0:
        return ""
    when = datetime.fromtimestamp(value / 1000, UTC)
    year, month, day = when.year, when.month, when.day
    if loc.calendar == "persian":
        year, month, day = to_jalali(year, month, day)
    months = _MONTHS.get(f"{loc.locale}-{loc.calendar}", _MONTHS["en-gregory"]).split()
    text = translate(
        loc.locale,
        "common.date_time",
        day=str(day),
        month=months[month - 1],
        year=str(year),
        time=f"{when:%H:%M}",
    )
    return text.translate(_PERSIAN_DIGITS) if loc.locale == "fa" else text


# --- the templates' helpers ----------------------------------------------------------------


def _loc(ctx: Context) -> PageLocale:
    loc = ctx.get("i18n")
    return loc if isinstance(loc, PageLocale) else PageLocale()


@pass_context
def t(ctx: Context, key: str | Message, **values: Any) -> str:
    """``{{ t('auth.sign_in') }}``, ``{{ t('console.snooze_hours', n=4) }}``, or a Message a
    route handed over (``{{ t(error) }}``)."""
    if isinstance(key, Message):
        return translate(_loc(ctx).locale, key.key, **{**key.values, **values})
    return translate(_loc(ctx).locale, key, **values)


@pass_context
def i18n_script(ctx: Context, *areas: str) -> Markup:
    """The page's strings of ``areas`` for its scripts, with the locale and calendar: a JSON
    block (the Content-Security-Policy runs no inline script; JSON is data, not script)."""
    loc = _loc(ctx)
    prefixes = tuple(f"{a}." for a in areas)
    english = CATALOGUES.get(DEFAULT_LOCALE, {})
    strings = {k: v for k, v in english.items() if k.startswith(prefixes)}
    strings.update(
        {k: v for k, v in CATALOGUES.get(loc.locale, {}).items() if k.startswith(prefixes)}
    )
    data = {
        "locale": loc.locale,
        "tag": loc.intl_tag,
        "calendar": loc.calendar,
        "dir": loc.dir,
        "strings": strings,
    }
    # "<" escaped: no text of a catalogue can close the script element early.
    text = orjson.dumps(data).decode().replace("<", "\\u003c")
    return Markup(f'<script type="application/json" id="i18n">{text}</script>')


@pass_context
def local_datetime(ctx: Context, ms: int | str | None) -> str:
    return format_datetime(_loc(ctx), ms)


@pass_context
def local_number(ctx: Context, n: int | float) -> str:
    return format_number(_loc(ctx).locale, n)


def install(env: Any) -> None:
    """Register the helpers on a Jinja environment (console/common.py's)."""
    env.globals["t"] = t
    env.globals["i18n_script"] = i18n_script
    env.globals["locales"] = {loc: NATIVE_NAMES[loc] for loc in LOCALES}
    env.filters["ldate"] = local_datetime
    env.filters["lnum"] = local_number
