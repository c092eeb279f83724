"""The team's alert mails speak the site's team language (admin page, E-mail section)."""

from __future__ import annotations

from chatserver.mail import render
from console.admin_forms import site_fields
from tests.unit.test_department_hours import BASE_FORM


def test_the_site_form_takes_a_known_team_language_or_none() -> None:
    for value in ("", "en", "fa"):
        out, errors = site_fields({**BASE_FORM, "team_language": value})
        assert errors == [] and out["team_language"] == value
    _, errors = site_fields({**BASE_FORM, "team_language": "de"})
    assert errors == ["Choose the language of the team's alerts from the list."]


def test_an_alert_in_each_language() -> None:
    visitor = {"name": "Mina", "email": "mina@example.com"}
    subject, text, html = render.alert("Shop", "offline", visitor, "https://x.test/l", [], "en")
    assert subject == "[Shop] A visitor left a message for the team (Mina)"
    assert "Visitor: Mina <mina@example.com>" in text
    assert "They left an e-mail address and wait for a reply by mail." in text
    assert '<html lang="en" dir="ltr">' in html
    subject, text, html = render.alert("فروشگاه", "abandoned", {}, "https://x.test/l", [], "fa")
    assert subject == "[فروشگاه] بازدیدکننده‌ای در انتظار پاسخ رفت (یک بازدیدکننده)"
    assert "بازدیدکننده: (بی‌نام)" in text and '<html lang="fa" dir="rtl">' in html
    assert set(render.LANGUAGES) == {"en", "fa"}
