"""The rules of one-time and recovery codes (chatserver.core.totp), with the time passed in."""

from __future__ import annotations

import pyotp
from hypothesis import given
from hypothesis import strategies as st

from chatserver.core import totp
from chatserver.core.audit import AuditEntry, AuditQuery, clean_detail, csv_safe

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_800_000_000.0  # seconds
STEP = int(NOW // 30)


def test_a_code_is_good_for_its_step_and_one_either_side() -> None:
    for offset in (-1, 0, 1):
        code = pyotp.TOTP(SECRET).at((STEP + offset) * 30)
        assert totp.matching_step(SECRET, code, NOW, -1) == STEP + offset
    for offset in (-3, -2, 2, 3):
        code = pyotp.TOTP(SECRET).at((STEP + offset) * 30)
        near = {pyotp.TOTP(SECRET).at((STEP + d) * 30) for d in (-1, 0, 1)}
        if code not in near:  # a collision with a valid code would be a real match
            assert totp.matching_step(SECRET, code, NOW, -1) is None


def test_a_step_at_or_before_the_last_used_is_refused() -> None:
    code = pyotp.TOTP(SECRET).at(STEP * 30)
    assert totp.matching_step(SECRET, code, NOW, STEP) is None
    assert totp.matching_step(SECRET, code, NOW, STEP - 1) == STEP


def test_typing_is_forgiving_but_only_six_digits_count() -> None:
    code = pyotp.TOTP(SECRET).at(STEP * 30)
    assert totp.matching_step(SECRET, f" {code[:3]} {code[3:]} ", NOW, -1) == STEP
    assert totp.matching_step(SECRET, code + "0", NOW, -1) is None
    assert totp.matching_step(SECRET, "abcdef", NOW, -1) is None


@given(st.lists(st.integers(min_value=-2, max_value=2), min_size=1, max_size=12))
def test_no_code_is_accepted_twice(offsets: list[int]) -> None:
    """Whatever order codes arrive in, each accepted step is later than every one before."""
    last = -1
    accepted: list[int] = []
    for offset in offsets:
        code = pyotp.TOTP(SECRET).at((STEP + offset) * 30)
        step = totp.matching_step(SECRET, code, NOW, last)
        if step is not None:
            assert step > last
            accepted.append(step)
            last = step
    assert len(accepted) == len(set(accepted)) <= 3


def test_recovery_codes() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    for code in codes:
        assert totp.looks_like_recovery_code(code)
        assert totp.looks_like_recovery_code(code.upper().replace("-", " "))
        assert totp.recovery_digest(code) == totp.recovery_digest(code.upper().replace("-", ""))
    assert not totp.looks_like_recovery_code("123456")


def test_setup_values() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32
    uri = totp.provisioning_uri(secret, "mina@example.com")
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert totp.secret_groups("ABCDEFGH") == "ABCD EFGH"


def _entry(**kw: object) -> AuditEntry:
    base: dict[str, object] = {
        "id": "1-0",
        "ts": 1000,
        "actor_id": "a_1",
        "actor_name": "مینا",
        "action": "sign_in",
        "conv_id": "",
        "detail": "password, from 10.0.0.1",
    }
    base.update(kw)
    return AuditEntry(**base)  # type: ignore[arg-type]


def test_audit_query() -> None:
    e = _entry()
    assert AuditQuery().matches(e) and AuditQuery().empty
    assert AuditQuery(action="sign_in", actor="a_1", since=1000, until=1000).matches(e)
    assert not AuditQuery(action="sign_in_failed").matches(e)
    assert not AuditQuery(since=1001).matches(e) and not AuditQuery(until=999).matches(e)
    assert AuditQuery(text="مینا").matches(e) and AuditQuery(text="FROM 10.").matches(e)
    assert not AuditQuery(text="nothing").matches(e)


def test_detail_and_csv_cells() -> None:
    assert clean_detail("a\nb\u202ec") == "a b c"
    assert clean_detail("می\u200cخواهم") == "می\u200cخواهم"  # Persian's joiner stays
    assert len(clean_detail("x" * 900)) == 500
    assert csv_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_safe("ok") == "ok"
