"""Time-based one-time codes (RFC 6238, through pyotp) and recovery codes: pure functions of
the secret, the code and the time (passed in), so the rules are tested without a clock.

A code is good for its 30-second time step and one step either side (clock drift between the
phone and the server); a step at or before the last one accepted is refused, so a code seen
over a shoulder or replayed from a log never signs in a second time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp

STEP_S = 30
DIGITS = 6
DRIFT_STEPS = 1  # steps accepted either side of now
ISSUER = "chatserver"
RECOVERY_CODES = 10
# 16 characters of base32 (80 bits): long enough that a fast hash of it is safe to store, as
# for API keys (argon2 per code would cost ten slow hashes per recovery sign-in).
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_LEN = 16


def new_secret() -> str:
    """A fresh base32 secret (160 bits, the RFC's recommended length for SHA-1)."""
    return pyotp.random_base32(32)


def step_of(now_s: float) -> int:
    return int(now_s // STEP_S)


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).generate_otp(step)


def normalise_code(code: str) -> str:
    """What the agent typed, without the spaces and dashes phones show in a code."""
    return "".join(ch for ch in code if not ch.isspace() and ch != "-")


def matching_step(secret: str, code: str, now_s: float, last_step: int) -> int | None:
    """The time step ``code`` is for, if it is within the drift window around ``now_s`` and
    later than ``last_step`` (the last one accepted); else None."""
    typed = normalise_code(code)
    if len(typed) != DIGITS or not typed.isdigit():
        return None
    now = step_of(now_s)
    found = None
    # Every candidate is compared (no early exit), in constant time each.
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step), typed) and step > last_step:
            found = step if found is None else found
    return found


def provisioning_uri(secret: str, account_name: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from the QR code or typed)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).provisioning_uri(
        name=account_name, issuer_name=issuer
    )


def secret_groups(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes shown once, like ``abcd-efgh-jkmn-pqrs``; each signs in once."""
    out = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LEN))
        out.append("-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LEN, 4)))
    return out


def looks_like_recovery_code(code: str) -> bool:
    typed = normalise_code(code).lower()
    return len(typed) == _RECOVERY_LEN and all(ch in _RECOVERY_ALPHABET for ch in typed)


def recovery_digest(code: str) -> str:
    """What is stored of a recovery code: SHA-256 of it without dashes, spaces or case."""
    return hashlib.sha256(normalise_code(code).lower().encode()).hexdigest()
