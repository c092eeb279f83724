"""Who an agent's socket or request is: the session token, and the account behind it.

The console's pages, its JSON API and the agent and dashboard sockets all sign in this way.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from starlette.websockets import WebSocket

from chatserver.core.policy import TWO_FACTOR_ROLES
from chatserver.events import SignedOut
from chatserver.protocol import ProtocolError
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


# Why a session may not act (the error code pages, sockets and the JSON API answer with):
# an admin or supervisor of a site that requires two-factor sign-in who has not set it up.
TWO_FACTOR_SETUP = "two_factor_setup_required"


async def authenticate(services: Services, token: str | None) -> dict[str, str] | None:
    """The account a session may act as; None when there is none (or it must first set up
    two-factor sign-in: see :func:`session_account` for why)."""
    account, refusal = await session_account(services, token)
    return None if refusal else account


async def session_account(
    services: Services, token: str | None
) -> tuple[dict[str, str] | None, str]:
    """(account, '') for a session that may act; (None, 'unauthorized') for no valid session;
    (account, TWO_FACTOR_SETUP) for one that may only set up two-factor sign-in (its own
    account page). Notes when the session was last used, for the agent's list of sessions."""
    if not token or len(token) > 200:
        return None, "unauthorized"
    store = services.store
    agent_id = await store.session_agent(token)
    if agent_id is None:
        return None, "unauthorized"
    account = await store.session_seen(agent_id, token, services.hub.clock())
    if account is None or account.get("active", "1") != "1":
        return None, "unauthorized"
    # Admins and supervisors only: agents pay nothing for the site's requirement.
    if account.get("role") in TWO_FACTOR_ROLES and await store.must_set_up_two_factor(
        account["site"], agent_id
    ):
        return account, TWO_FACTOR_SETUP
    return account, ""


def refused(refusal: str) -> ProtocolError:
    """The error frame a socket gets before it is closed with 4401."""
    if refusal == TWO_FACTOR_SETUP:
        return ProtocolError(TWO_FACTOR_SETUP, "set up two-factor sign-in at /account first")
    return ProtocolError("unauthorized", "log in first")


async def close_session_sockets(
    services: Services, account: dict[str, str], digests: list[str]
) -> None:
    """Close the sockets of sessions just ended (their tokens are gone already), on every
    node, as signing out does."""
    for digest in digests:
        await services.store.publish(account["site"], SignedOut(account["id"], digest))
