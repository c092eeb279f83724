"""Identity verification: the site's backend vouches for who its signed-in visitor is.

The backend signs the user's id, the name and e-mail to show as verified and the time, with
the site's identity secret (HMAC-SHA256); the page passes the result to
``Chatserver.setUser``; the server checks it on every claim (the visitor socket's ``hello``
and ``identify``) before anything is stored as verified. A page's JavaScript never sees the
secret: anyone who could read it there could sign any identity.

This module is the one definition of the signed string (docs/security.md shows it and the
server-side snippets that compute it). Pure functions: the time is always an argument.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

# The first line of the signed string: a signature made for anything else (a webhook, a
# visitor token, a later version of this format) can never pass for an identity.
VERSION: Final = "chatserver-identity-v1"
# How long a signature is accepted after ``issued_at``: a captured one stops working a day
# later. Pages sign on every render, so a day is far longer than any page needs.
MAX_AGE_S: Final = 24 * 3600
# How far ``issued_at`` may lie ahead of the server's clock (the backend's clock may run a
# little fast); beyond it the signature is refused as out of its window.
CLOCK_SKEW_S: Final = 300
# The site setting (in its settings hash) that refuses self-declared names and e-mails.
REQUIRE_SETTING: Final = "require_identity"
# The frame fields that make a claim a signed one (with ``name`` and ``email``).
CLAIM_FIELDS: Final = ("user_id", "signature", "issued_at")

# Printable ASCII without spaces: ids are compared byte for byte, and any other alphabet
# would let two spellings of one id (Unicode normal forms) name two users.
_USER_ID: Final = re.compile(r"^[\x21-\x7e]{1,128}$")
_SIGNATURE: Final = re.compile(r"^[0-9a-fA-F]{64}$")
_SECONDS: Final = re.compile(r"^[0-9]{1,12}$")
# Characters that change how the text around them is shown: they could make a name look
# like another one next to the console's "verified" badge. Zero-width (non-)joiners stay:
# Persian names need them.
_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SEPARATORS: Final = frozenset("\u2028\u2029")


class IdentityError(Exception):
    """A claim that is not stored as verified; ``code`` is its documented error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Claim:
    """A signed identity as a frame carries it (name and e-mail trimmed, as the codec does)."""

    user_id: str
    name: str
    email: str
    issued_at: int
    signature: str


def canonical(site: str, user_id: str, name: str, email: str, issued_at: int) -> str:
    """The string the site's backend signs: six lines, no line break at the end.

    None of the values can hold a line break (site names and user ids have strict alphabets,
    names and e-mails refuse control characters), so each string has exactly one reading.
    """
    return "\n".join((VERSION, site, user_id, name, email, str(issued_at)))


def sign(secret: str, site: str, user_id: str, name: str, email: str, issued_at: int) -> str:
    """What the backend computes: lowercase hex of HMAC-SHA256 (key: the secret as written,
    in UTF-8) of :func:`canonical` in UTF-8."""
    message = canonical(site, user_id, name, email, issued_at).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def new_secret() -> str:
    """A site's identity secret: 256 random bits, as text (the key is the text itself)."""
    return "csi_" + secrets.token_urlsafe(32)


def required(site_cfg: Mapping[str, str] | None) -> bool:
    """Whether the site refuses self-declared names and e-mails."""
    return (site_cfg or {}).get(REQUIRE_SETTING) == "1"


def text_problem(value: str) -> str | None:
    """Why a name or e-mail cannot be stored (None when it can): control characters, line
    separators and the bidirectional overrides are refused."""
    for ch in value:
        if unicodedata.category(ch) == "Cc" or ch in _SEPARATORS:
            return "must not contain control characters or line breaks"
        if ch in _BIDI_CONTROLS:
            return "must not contain bidirectional control characters"
    return None


def claim_of(frame: Mapping[str, Any]) -> Claim | None:
    """The signed identity a (validated) ``hello`` or ``identify`` frame carries; None when it
    carries none. A partial or malformed one raises ``identity_invalid``."""
    present = [key for key in CLAIM_FIELDS if key in frame]
    if not present:
        return None
    if len(present) < len(CLAIM_FIELDS):
        raise IdentityError(
            "identity_invalid", "a signed identity needs user_id, signature and issued_at"
        )
    user_id, signature, issued_at = (_whole(frame[key]) for key in CLAIM_FIELDS)
    if not isinstance(user_id, str) or not _USER_ID.match(user_id):
        raise IdentityError(
            "identity_invalid", "user_id must be 1-128 printable ASCII characters, no spaces"
        )
    if not isinstance(signature, str) or not _SIGNATURE.match(signature):
        raise IdentityError("identity_invalid", "signature must be 64 hexadecimal digits")
    if not isinstance(issued_at, str) or not _SECONDS.match(issued_at):
        raise IdentityError("identity_invalid", "issued_at must be whole Unix seconds")
    name, email = frame.get("name") or "", frame.get("email") or ""
    return Claim(user_id, str(name), str(email), int(issued_at), signature.lower())


def _whole(value: Any) -> Any:
    """A frame value as the signed text has it: an integer in decimal (a page may pass the
    user id or the time as a number, and a data- attribute gives a string); others as
    they are, to be refused if they are not strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def check(
    secret: str | None,
    site: str,
    claim: Claim,
    now_s: int,
    max_age_s: int = MAX_AGE_S,
    skew_s: int = CLOCK_SKEW_S,
) -> None:
    """Raise :class:`IdentityError` unless ``claim`` was signed with ``secret`` for ``site``
    within its window at ``now_s`` (Unix seconds).

    The signature is checked first, in constant time: a forged claim reads
    ``identity_invalid`` whatever time it names, and ``identity_expired`` says only that a
    genuine signature is too old (a replay) or too far ahead of the clock.
    """
    if not secret:
        raise IdentityError("identity_invalid", "this site has no identity secret yet")
    expected = sign(secret, site, claim.user_id, claim.name, claim.email, claim.issued_at)
    if not hmac.compare_digest(expected.encode("ascii"), claim.signature.encode("utf-8")):
        raise IdentityError("identity_invalid", "the identity's signature does not match")
    if claim.issued_at < now_s - max_age_s:
        raise IdentityError("identity_expired", "the identity was signed too long ago")
    if claim.issued_at > now_s + skew_s:
        raise IdentityError("identity_expired", "the identity is signed for a time to come")
