"""The signed identity (chatserver/identity.py): the canonical string and the check, with the
time as an argument."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from chatserver import identity
from chatserver.identity import Claim, IdentityError

SECRET = "csi_test-secret"
NOW = 1_764_590_400  # 2025-12-01 12:00 UTC, seconds


def claim(
    site: str = "shop",
    user_id: str = "u-42",
    name: str = "Ali Rezaei",
    email: str = "ali@example.com",
    issued_at: int = NOW - 60,
    secret: str = SECRET,
) -> Claim:
    """A claim signed as a backend would (for ``site`` with ``secret``)."""
    signature = identity.sign(secret, site, user_id, name, email, issued_at)
    return Claim(user_id, name, email, issued_at, signature)


def code_of(c: Claim, site: str = "shop", now: int = NOW, secret: str | None = SECRET) -> str:
    with pytest.raises(IdentityError) as info:
        identity.check(secret, site, c, now)
    return info.value.code


def test_the_canonical_string_is_six_lines() -> None:
    text = identity.canonical("shop", "u-42", "علی", "ali@example.com", 1764590400)
    assert text == "chatserver-identity-v1\nshop\nu-42\nعلی\nali@example.com\n1764590400"
    # The documented snippets compute exactly this: HMAC-SHA256, key the secret's UTF-8.
    expected = hmac.new(SECRET.encode(), text.encode("utf-8"), hashlib.sha256).hexdigest()
    assert identity.sign(SECRET, "shop", "u-42", "علی", "ali@example.com", 1764590400) == expected
    assert len(expected) == 64 and expected == expected.lower()
    # An empty name or e-mail is a value like any other (an empty line).
    assert identity.canonical("shop", "7", "", "", 5) == "chatserver-identity-v1\nshop\n7\n\n\n5"


def test_a_good_signature_passes() -> None:
    identity.check(SECRET, "shop", claim(), NOW)
    # Within the window at both ends, and upper-case hex too.
    identity.check(SECRET, "shop", claim(issued_at=NOW - identity.MAX_AGE_S), NOW)
    identity.check(SECRET, "shop", claim(issued_at=NOW + identity.CLOCK_SKEW_S), NOW)
    c = claim()
    upper = identity.claim_of(
        {"user_id": c.user_id, "name": c.name, "email": c.email, "issued_at": c.issued_at}
        | {"signature": c.signature.upper()}
    )
    assert upper is not None
    identity.check(SECRET, "shop", upper, NOW)


def test_a_wrong_secret_or_no_secret_is_invalid() -> None:
    assert code_of(claim(secret="csi_someone-elses")) == "identity_invalid"
    assert code_of(claim(), secret=None) == "identity_invalid"
    assert code_of(claim(), secret="") == "identity_invalid"


@pytest.mark.parametrize(
    "change",
    [
        {"user_id": "u-43"},
        {"name": "Ali Rezaei "},
        {"name": "Someone Else"},
        {"email": "ali@example.org"},
        {"email": ""},
        {"issued_at": NOW - 59},
        {"signature": "0" * 64},
    ],
)
def test_tampered_claims_are_invalid(change: dict[str, object]) -> None:
    assert code_of(replace(claim(), **change)) == "identity_invalid"  # type: ignore[arg-type]


def test_a_signature_for_another_site_is_invalid() -> None:
    assert code_of(claim(site="other")) == "identity_invalid"
    assert code_of(claim(), site="other") == "identity_invalid"


def test_expired_and_future_signatures() -> None:
    assert code_of(claim(issued_at=NOW - identity.MAX_AGE_S - 1)) == "identity_expired"
    assert code_of(claim(issued_at=NOW - 30 * 86400)) == "identity_expired"
    assert code_of(claim(issued_at=NOW + identity.CLOCK_SKEW_S + 1)) == "identity_expired"
    # The same claim was fine when it was fresh: the time is the only difference.
    old = claim(issued_at=NOW - 2 * 86400)
    identity.check(SECRET, "shop", old, NOW - 2 * 86400 + 10)
    # A forged claim reads invalid whatever time it names.
    assert code_of(replace(old, name="Eve")) == "identity_invalid"


def test_claims_read_from_frames() -> None:
    assert identity.claim_of({"type": "hello", "name": "Ali"}) is None
    c = identity.claim_of(
        {"user_id": "42", "signature": "ab" * 32, "issued_at": NOW, "name": "Ali"}
    )
    assert c == Claim("42", "Ali", "", NOW, "ab" * 32)
    for bad in (
        {"user_id": "42", "signature": "ab" * 32},  # no issued_at
        {"signature": "ab" * 32, "issued_at": NOW},  # no user_id
        {"user_id": "4 2", "signature": "ab" * 32, "issued_at": NOW},
        {"user_id": "", "signature": "ab" * 32, "issued_at": NOW},
        {"user_id": "x" * 129, "signature": "ab" * 32, "issued_at": NOW},
        {"user_id": "علی", "signature": "ab" * 32, "issued_at": NOW},
        {"user_id": "42", "signature": "ab" * 31, "issued_at": NOW},
        {"user_id": "42", "signature": "zz" * 32, "issued_at": NOW},
        {"user_id": "42", "signature": "ab" * 32, "issued_at": -1},
        {"user_id": "42", "signature": "ab" * 32, "issued_at": True},
    ):
        with pytest.raises(IdentityError) as info:
            identity.claim_of(bad)
        assert info.value.code == "identity_invalid", bad


def test_names_and_emails_refuse_control_characters() -> None:
    for good in ("Ali", "علی‌رضا", "O'Brien <3", "Zoë", ""):  # ZWNJ in the Persian name
        assert identity.text_problem(good) is None, good
    for bad in ("Ali\nAdmin", "Ali\r", "A\x00", "A\x1b[31m", "A\u2028B", "\u202eilA", "A\u2066"):
        assert identity.text_problem(bad) is not None, bad


def test_the_setting_and_the_secret() -> None:
    assert identity.required({"require_identity": "1"})
    assert not identity.required({"require_identity": "0"})
    assert not identity.required({}) and not identity.required(None)
    a, b = identity.new_secret(), identity.new_secret()
    assert a != b and a.startswith("csi_") and len(a) >= 40


SECURITY_MD = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def snippet(language: str) -> str:
    """The server-side snippet docs/security.md shows for ``language``."""
    section = SECURITY_MD.read_text(encoding="utf-8").split("### Identity verification", 1)[1]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_the_documented_python_snippet_signs_what_the_server_checks() -> None:
    scope: dict[str, Any] = {}
    exec(snippet("python"), scope)  # our own documentation
    made = scope["chat_identity"](SECRET, "shop", "u-42", " Ali Rezaei ", "ali@example.com")
    c = identity.claim_of({**made, "user_id": made.pop("id")})
    assert c is not None and c.name == "Ali Rezaei"
    identity.check(SECRET, "shop", c, made["issued_at"] + 5)


@pytest.mark.skipif(shutil.which("node") is None, reason="no node")
def test_the_documented_node_snippet_signs_what_the_server_checks() -> None:
    program = snippet("js") + (
        'console.log(JSON.stringify(chatIdentity(process.argv[1], "shop", 42, "علی ", "a@b.ir")));'
    )
    out = subprocess.run(
        ["node", "-e", program, SECRET], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    made = json.loads(out)
    c = identity.claim_of({**made, "user_id": made.pop("id")})
    assert c is not None and (c.user_id, c.name) == ("42", "علی")
    identity.check(SECRET, "shop", c, made["issued_at"])
