"""What the widget's forms send over the visitor socket: the visitor's details (pre-chat and
offline forms, the page's ``setUser``) and the satisfaction rating of an ended chat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chatserver.connection import VisitorConn
from chatserver.core.departments import parse_departments
from chatserver.events import VisitorChanged
from chatserver.protocol import ProtocolError
from chatserver.services import Services
from chatserver.store import StoreError


def site_departments(site_cfg: Mapping[str, str] | None) -> list[str]:
    """The departments a site offers visitors (its ``departments`` setting), in its order."""
    return parse_departments((site_cfg or {}).get("departments"))


async def identify(services: Services, conn: VisitorConn, f: dict[str, Any]) -> None:
    """Store the visitor's name and email; choose the department of their next chat.

    Agents following the visitor's open conversation get a ``visitor`` frame with the change.
    A department must be one the site lists, when it lists any.
    """
    department = f.get("department")
    if department:
        offered = site_departments(await services.hub.site_config(conn.site))
        if offered and department not in offered:
            raise ProtocolError(
                "invalid_field", "department is not one this site offers", field="department"
            )
    if department is not None:
        conn.department = department
    fields = {key: f[key] for key in ("name", "email") if f.get(key)}
    if not fields:
        return
    await services.store.update_visitor(conn.site, conn.visitor_id, fields, services.hub.clock())
    conn.name = fields.get("name", conn.name)
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
