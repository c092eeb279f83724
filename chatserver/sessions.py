"""Who an agent's socket or request is: the session token, and the account behind it.

The console's pages, its JSON API and the agent and dashboard sockets all sign in this way.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from chatserver.security_headers import same_origin
from chatserver.services import Services

SESSION_COOKIE = "cs_session"
# Roles that see the dashboard and the admin pages (admins also change them).
VIEW_ROLES = frozenset({"admin", "supervisor"})


def session_token(ws: WebSocket) -> str | None:
    auth = ws.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    if ws.query_params.get("token"):
        return ws.query_params["token"]
    # Browsers send the cookie with a socket opened by any page (even of another site under
    # SameSite=Lax when it is same-site); only the console's own pages may use it.
    origin = ws.headers.get("origin")
    public = urlsplit(ws.app.state.services.settings.public_url or "")
    if origin and not (
        same_origin(origin, ws.headers.get("host"))
        or origin == f"{public.scheme}://{public.netloc}"
    ):
        return None
    return ws.cookies.get(SESSION_COOKIE)


def session_digest(token: str) -> str:
    """What names a session on the bus (signing out closes its sockets); never the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


async def authenticate(services: Services, token: str | None) -> dict[str, str] | None:
    if not token or len(token) > 200:
        return None
    agent_id = await services.store.session_agent(token)
    if agent_id is None:
        return None
    account = await services.store.get_account(agent_id)
    if account is None or account.get("active", "1") != "1":
        return None
    return account
