"""A site's notice without Redis: what may be posted (texts, languages, the expiry), what a
stored notice reads as once expired or damaged."""

from __future__ import annotations

import pytest

from chatserver.core.notices import MAX_AHEAD_MS, MAX_TEXT, NoticeError, check, decode

NOW = 1_767_225_600_000


def refused(body: dict[str, object]) -> str:
    with pytest.raises(NoticeError) as caught:
        check(body, NOW, "n_1", "Sara")
    return caught.value.code


def test_a_notice_in_one_or_both_languages() -> None:
    notice = check(
        {"text": {"fa": "  پرداخت‌ها با تأخیر است\r\nپیگیری می‌کنیم ", "en": ""}, "expires_in": 3600},
        NOW,
        "n_1",
        "Sara",
    )
    # Only the languages given, trimmed, line breaks as \n, ZWNJ kept.
    assert notice.text == {"fa": "پرداخت‌ها با تأخیر است\nپیگیری می‌کنیم"}
    assert notice.expires_at == NOW + 3_600_000
    assert notice.public() == {"id": "n_1", "text": notice.text, "expires_at": NOW + 3_600_000}
    assert notice.staff()["by"] == "Sara" and notice.staff()["posted_at"] == NOW
    both = check(
        {"text": {"en": "Payments are delayed", "fa": "تأخیر"}, "expires_at": NOW + 60_000},
        NOW,
        "n_2",
        "Sara",
    )
    assert list(both.text) == ["en", "fa"]


def test_bad_notices_are_refused_with_their_code() -> None:
    assert refused({"text": {"en": " ", "fa": ""}, "expires_in": 3600}) == "notice_text_required"
    assert refused({"text": {}, "expires_in": 3600}) == "notice_text_required"
    assert refused({"text": "hello", "expires_in": 3600}) == "invalid_notice"
    assert refused({"text": {"de": "Hallo"}, "expires_in": 3600}) == "invalid_notice"
    assert refused({"text": {"en": 5}, "expires_in": 3600}) == "invalid_notice"
    assert refused({"text": {"en": "a\x00b"}, "expires_in": 3600}) == "invalid_notice"
    assert refused({"text": {"en": "a\u202eb"}, "expires_in": 3600}) == "invalid_notice"
    assert refused({"text": {"en": "x" * (MAX_TEXT + 1)}, "expires_in": 3600}) == "notice_too_long"
    check({"text": {"en": "x" * MAX_TEXT}, "expires_in": 3600}, NOW, "n", "")  # the limit
    ok = {"en": "Delayed"}
    assert refused({"text": ok}) == "invalid_expiry"  # required
    assert refused({"text": ok, "expires_in": 3600, "expires_at": NOW + 1}) == "invalid_expiry"
    assert refused({"text": ok, "expires_in": "3600"}) == "invalid_expiry"
    assert refused({"text": ok, "expires_in": True}) == "invalid_expiry"
    assert refused({"text": ok, "expires_in": 1.5}) == "invalid_expiry"
    assert refused({"text": ok, "expires_at": NOW - 1}) == "invalid_expiry"  # past
    assert refused({"text": ok, "expires_in": 10}) == "invalid_expiry"  # under a minute
    assert refused({"text": ok, "expires_at": NOW + MAX_AHEAD_MS + 1}) == "invalid_expiry"
    check({"text": ok, "expires_at": NOW + MAX_AHEAD_MS}, NOW, "n", "")  # 30 days: fine


def test_a_stored_notice_is_not_served_once_expired_or_damaged() -> None:
    notice = check({"text": {"en": "Delayed"}, "expires_in": 3600}, NOW, "n_1", "Sara")
    raw = notice.encode()
    assert decode(raw, NOW) == notice
    assert decode(raw, notice.expires_at - 1) == notice
    assert decode(raw, notice.expires_at) is None
    for bad in (
        None,
        "",
        "{",
        "[]",
        '{"id": "n"}',
        '{"id":"n","text":5,"posted_at":1,"expires_at":9}',
    ):
        assert decode(bad, NOW) is None
