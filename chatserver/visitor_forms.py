"""What the widget's forms send over the visitor socket: the visitor's details (pre-chat and
offline forms, the page's ``setUser``, signed or not) and the satisfaction rating of an ended
chat."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chatserver import identity
from chatserver.connection import VisitorConn
from chatserver.core.departments import parse_departments
from chatserver.events import VisitorChanged
from chatserver.protocol import ProtocolError, valid_email
from chatserver.services import Services
from chatserver.store import StoreError


def site_departments(site_cfg: Mapping[str, str] | None) -> list[str]:
    """The departments a site offers visitors (its ``departments`` setting), in its order."""
    return parse_departments((site_cfg or {}).get("departments"))


@dataclass(slots=True)
class Details:
    """What a ``hello`` or ``identify`` may store of the name and e-mail it carries."""

    visitor_id: str  # the visitor to continue as: a verified user's own record
    fields: dict[str, str] = field(default_factory=dict)  # self-declared details to store
    linked: bool = False  # a signed identity was checked and stored on visitor_id's record
    errors: list[ProtocolError] = field(default_factory=list)  # what was refused, and why


_REQUIRED = "this site takes only a signed identity: the name and e-mail were not stored"
_LOCKED = "this visitor's details are verified: only a signed identity changes them"


async def visitor_details(
    services: Services,
    site: str,
    f: Mapping[str, Any],
    visitor_id: str,
    visitor: Mapping[str, str],
    now: int,
) -> Details:
    """Check the name, e-mail and signed identity of a frame from ``visitor_id`` (whose record
    is ``visitor``) and store a valid signed identity on its user's record.

    A signed identity must be genuine, for this site and within its window; then its name and
    e-mail are stored as verified (``lua/identity_link.lua``). Self-declared ones that differ
    from the record's are refused when the site requires verification or the visitor is
    verified.
    """
    out = Details(visitor_id)
    claimed: dict[str, str] = {}
    for key in ("name", "email"):
        value = str(f.get(key) or "")
        problem = identity.text_problem(value)
        if problem is None and key == "email" and not valid_email(value):
            problem = "has an invalid format"
        if problem is not None:
            out.errors.append(
                ProtocolError("invalid_field", f"{key} {problem}; it was not stored", key)
            )
        elif value:
            claimed[key] = value
    try:
        claim = identity.claim_of(f)
    except identity.IdentityError as exc:
        out.errors.append(ProtocolError(exc.code, exc.message))
        return out
    if claim is not None:
        if out.errors:
            return out  # a signed name or e-mail that cannot be stored: none of it is
        secret, seen = await services.store.identity_lookup(site, claim.user_id)
        try:
            identity.check(secret, site, claim, now // 1000)
        except identity.IdentityError as exc:
            out.errors.append(ProtocolError(exc.code, exc.message))
            return out
        out.visitor_id, _ = await services.store.link_identity(site, claim, visitor_id, seen, now)
        out.linked = True
        return out
    # What the visitor's record already says is no claim (a page that keeps the details it
    # was given sends them again with every hello).
    if all(visitor.get(key, "") == value for key, value in claimed.items()):
        return out
    if identity.required(await services.hub.site_config(site)):
        out.errors.append(ProtocolError("identity_required", _REQUIRED))
    elif visitor.get("user_id"):
        out.errors.append(ProtocolError("identity_required", _LOCKED))
    else:
        out.fields = claimed
    return out


async def identify(services: Services, conn: VisitorConn, f: dict[str, Any]) -> None:
    """Store the visitor's name and email; choose the department of their next chat.

    Agents following the visitor's open conversation get a ``visitor`` frame with the change.
    A department must be one the site lists, when it lists any. A refused name, e-mail or
    signed identity refuses the whole frame (nothing is stored). A signed identity whose
    user is another visitor record (signed in on another device) gets ``reconnect``: the
    client's next ``hello``, with the same signature, continues as that visitor.
    """
    department = f.get("department")
    if department:
        offered = site_departments(await services.hub.site_config(conn.site))
        if offered and department not in offered:
            raise ProtocolError(
                "invalid_field", "department is not one this site offers", field="department"
            )
    details = Details(conn.visitor_id)
    if f.get("name") or f.get("email") or any(key in f for key in identity.CLAIM_FIELDS):
        visitor = await services.store.load_visitor(conn.site, conn.visitor_id) or {}
        now = services.hub.clock()
        details = await visitor_details(services, conn.site, f, conn.visitor_id, visitor, now)
    if details.errors:
        raise details.errors[0]
    if department is not None:
        conn.department = department
    if details.visitor_id != conn.visitor_id:
        conn.send({"type": "reconnect", "after_ms": 0})
        return
    if details.linked:
        conn.name = str(f.get("name") or "")
    elif details.fields:
        await services.store.update_visitor(
            conn.site, conn.visitor_id, details.fields, services.hub.clock()
        )
        conn.name = details.fields.get("name", conn.name)
    else:
        return
    if conn.conv_id:
        await services.store.publish(conn.site, VisitorChanged(conn.conv_id, conn.visitor_id))


_RATE_ERRORS = {
    "not_ended": "rate a conversation once it has ended",
    "conflict": "this conversation was already rated",
}


async def rate(services: Services, conn: VisitorConn, f: dict[str, Any]) -> None:
    """Store a 1-5 rating (and optional comment) of one of the visitor's ended conversations;
    answers ``rated``."""
    conv_id = f["conversation_id"]
    try:
        await services.store.rate(
            conn.site,
            conv_id,
            conn.visitor_id,
            conn.name,
            f["score"],
            f.get("comment", ""),
            services.hub.clock(),
        )
    except StoreError as exc:
        if exc.code in _RATE_ERRORS:
            raise ProtocolError(exc.code, _RATE_ERRORS[exc.code], ref=conv_id) from None
        raise
    conn.send({"type": "rated", "conversation_id": conv_id, "score": f["score"]})
