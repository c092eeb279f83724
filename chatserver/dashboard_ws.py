"""The supervisors' dashboard socket, `/ws/dashboard` (docs/protocol.md): read-only figures
pushed after every event of the site and every few seconds (chatserver/dashboards.py)."""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisError
from starlette.websockets import WebSocket

from chatserver.close_codes import CloseCode
from chatserver.dashboards import DashboardConn, Dashboards, department_filter
from chatserver.endpoint import receive_loop
from chatserver.protocol import ProtocolError
from chatserver.services import Services
from chatserver.sessions import (
    VIEW_ROLES,
    refused,
    session_account,
    session_digest,
    session_token,
)


async def dashboard_socket(ws: WebSocket) -> None:
    """``/ws/dashboard``: ``watch`` a department (or the whole site), get ``dashboard``
    frames after every change and every few seconds (docs/protocol.md)."""
    services: Services = ws.app.state.services
    dashboards: Dashboards = ws.app.state.dashboards
    try:
        token = session_token(ws) or ""
        account, refusal = await session_account(services, token)
    except (RedisError, OSError):
        await ws.close(CloseCode.TRY_AGAIN)
        return
    await ws.accept()
    conn = DashboardConn(ws, "json", "supervisor", account["site"] if account else "-", 64)
    if account is None or refusal or account.get("role") not in VIEW_ROLES:
        code, why = (
            (CloseCode.UNAUTHORIZED, refused(refusal))
            if account is None or refusal
            else (CloseCode.FORBIDDEN, ProtocolError("forbidden", "supervisors and admins only"))
        )
        conn.send(why.frame())
        await conn.flush()
        await ws.close(code)
        return
    conn.account = account
    conn.session = session_digest(token)

    async def handle(f: dict[str, Any]) -> None:
        if f["type"] == "ping":
            conn.send({"type": "pong", "server_time": dashboards.clock()})
            return
        try:
            conn.department = department_filter(f.get("department"))
        except ValueError as exc:
            raise ProtocolError("invalid_field", str(exc), field="department") from None
        await services.hub.subscribe(conn.site)
        dashboards.watch(conn)
        await dashboards.push(conn.site, only=conn)

    try:
        await receive_loop(ws, conn, dashboards.codec, services.settings, handle)
    finally:
        conn.closed = True
        dashboards.unwatch(conn)
