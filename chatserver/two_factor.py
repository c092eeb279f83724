"""Agents' two-factor sign-in: setting it up, checking a code or a recovery code at sign-in,
turning it off. The rules of a code are in chatserver.core.totp; every check-and-spend is
one step in Redis (lua/two_factor.lua), so a code or a recovery code works once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import segno

from chatserver.core import totp
from chatserver.store import Store, StoreError

# The second step of a sign-in (the code) must come within this long of the password, and
# after this many wrong codes the password has to be typed again.
PENDING_TTL_S = 300
MAX_CODE_TRIES = 5

Outcome = Literal["ok", "recovery", "invalid", "replayed"]


@dataclass(frozen=True, slots=True)
class CodeCheck:
    outcome: Outcome
    recovery_left: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome in ("ok", "recovery")


async def check_code(
    store: Store, agent_id: str, code: str, now_ms: int, disable: bool = False
) -> CodeCheck:
    """Spend ``code`` (six digits from the app, or a recovery code) if it is good now; with
    ``disable`` a good code also turns two-factor off, in the same step."""
    state = await store.two_factor(agent_id)
    if not state.enabled or len(code) > 64:
        return CodeCheck("invalid")
    if totp.looks_like_recovery_code(code):
        try:
            left = await store.two_factor_use_recovery(
                agent_id, totp.recovery_digest(code), disable
            )
        except StoreError:
            return CodeCheck("invalid")
        return CodeCheck("recovery", left)
    now_s = now_ms / 1000
    step = totp.matching_step(state.secret, code, now_s, state.last_step)
    if step is None:
        seen = totp.matching_step(state.secret, code, now_s, -1)
        return CodeCheck("replayed" if seen is not None else "invalid")
    try:
        await store.two_factor_use_code(agent_id, state.secret, step, disable)
    except StoreError as exc:
        # Another sign-in spent this step (or a later one) first, or the secret changed.
        return CodeCheck("replayed" if exc.code == "replayed" else "invalid")
    return CodeCheck("ok")


@dataclass(frozen=True, slots=True)
class Setup:
    secret: str
    uri: str
    grouped: str  # the secret in groups of four, to type by hand
    qr_svg: str  # the URI as an inline SVG QR code (made here: no third party sees it)


async def begin_setup(store: Store, account: dict[str, str]) -> Setup | None:
    """A new secret held until confirmed (None when two-factor is on already). Beginning
    again replaces the secret: only the last one shown can be confirmed."""
    secret = totp.new_secret()
    try:
        await store.two_factor_begin(account["id"], secret)
    except StoreError:
        return None
    return setup_of(secret, account.get("email", account["id"]))


def setup_of(secret: str, account_name: str) -> Setup:
    uri = totp.provisioning_uri(secret, account_name)
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    return Setup(secret, uri, totp.secret_groups(secret), svg)


async def confirm_setup(store: Store, agent_id: str, code: str, now_ms: int) -> list[str] | None:
    """Turn two-factor on if ``code`` is good for the pending secret; returns the recovery
    codes (to show once: only their digests are kept), or None for a wrong code."""
    state = await store.two_factor(agent_id)
    if state.enabled or not state.pending:
        return None
    step = totp.matching_step(state.pending, code, now_ms / 1000, -1)
    if step is None:
        return None
    codes = totp.new_recovery_codes()
    try:
        await store.two_factor_enable(
            agent_id, state.pending, step, now_ms, [totp.recovery_digest(c) for c in codes]
        )
    except StoreError:
        return None
    return codes
