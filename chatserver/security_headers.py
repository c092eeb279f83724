"""Security headers and a cross-site check for every HTTP response outside the widget.

The console (sign-in, workspace, admin pages, dashboards and their JSON) gets a strict
Content-Security-Policy (scripts, styles and connections from this origin only; nothing
inline), refuses to be framed (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``),
sends no referrer outside its origin and is not cached when it is HTML. A state-changing
request (POST, ...) whose ``Origin`` is another site is refused before any route sees it,
which backs the CSRF tokens even if a sibling sub-domain could plant cookies.

The widget's pages are left to ``widget_routes`` (its frame must be framed by customers'
pages and carries its own policy); they only get ``nosniff``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatserver.config import Settings

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; media-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Paths of the public widget: embedded by customers' pages, with their own headers.
WIDGET_PREFIXES = ("/widget", "/chat", "/api/widget/", "/static/widget/")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_widget_path(path: str) -> bool:
    return path == "/" or path.startswith(WIDGET_PREFIXES)


class SecurityHeaders:
    """Pure ASGI middleware (it never buffers a body, so streaming responses stay streams)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hsts = settings.secure_cookies
        public = urlsplit(settings.public_url or "")
        self.public_origin = f"{public.scheme}://{public.netloc}" if public.netloc else ""

    def cross_site(self, headers: Headers) -> bool:
        origin = headers.get("origin")
        if not origin or origin == self.public_origin:
            return False
        return urlsplit(origin).netloc != headers.get("host")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        widget = is_widget_path(scope["path"])
        if (
            not widget
            and scope["method"] in UNSAFE_METHODS
            and self.cross_site(Headers(scope=scope))
        ):
            response = PlainTextResponse("cross-site request refused", status_code=403)
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if not widget:
                    headers.setdefault("Content-Security-Policy", CONSOLE_CSP)
                    headers.setdefault("X-Frame-Options", "DENY")
                    headers.setdefault("Referrer-Policy", "same-origin")
                    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                    if headers.get("content-type", "").startswith("text/html"):
                        headers.setdefault("Cache-Control", "no-store")
                    if self.hsts:
                        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- WebSocket origins (the handshakes check them; see docs/security.md) ----------------
def origin_allowed(origin: str | None, allowed: str) -> bool:
    """``allowed`` is '*' or a space/comma separated list of origins (scheme://host[:port])."""
    entries = {o.strip().rstrip("/") for o in allowed.replace(",", " ").split() if o.strip()}
    if "*" in entries:
        return True
    return origin is not None and origin.rstrip("/") in entries


def same_origin(origin: str | None, host: str | None) -> bool:
    """The page is served by this server (the widget's frame, /chat): the site's origins are
    enforced on the page that frames it instead (CSP frame-ancestors)."""
    return bool(origin and host) and urlsplit(origin or "").netloc == host
