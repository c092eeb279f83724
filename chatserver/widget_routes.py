"""HTTP side of the embeddable widget.

- ``/widget.js``: the loader a customer's page includes with one ``<script>`` tag.
- ``/widget/frame``: the chat panel, framed by the loader from this server's origin, so the
  host page's CSS cannot reach it. Its ``Content-Security-Policy: frame-ancestors`` carries the
  site's allowed origins, which is what keeps other sites from embedding it.
- ``/chat``: the same panel as a whole page (a link to send in an email).
- ``/widget/assets/NAME``: the panel's script and style, gzipped, cached for a year under a
  content hash; the scripts carry values whose one definition is Python (the open states).
- ``/api/widget/config``: a site's public widget settings and whether someone can answer now.
- ``/``: the demo page, which embeds the widget exactly as a customer would.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import rjsmin  # type: ignore[import-untyped]
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.config import valid_site_name
from chatserver.core.hours import is_open, is_open_by, next_opening, next_opening_by
from chatserver.core.routing import online_count
from chatserver.core.sla import department_clocks
from chatserver.core.states import OPEN_STATUSES, Status
from chatserver.services import Services
from chatserver.visitor_forms import site_departments

WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget"
LOCALES = ("en", "fa")
RTL_LOCALES = frozenset({"fa"})
DEFAULT_COLOR = "#2563eb"

_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(?::\d{1,5})?$")

_templates = Environment(
    loader=FileSystemLoader(WIDGET_DIR), autoescape=select_autoescape(["html"]), auto_reload=False
)
_ALL_STRINGS: dict[str, dict[str, str]] = orjson.loads((WIDGET_DIR / "i18n.json").read_bytes())
# Strings of the lazily loaded modules (widget/transcript.js) travel in those modules, not in
# the frame every visitor downloads before the panel opens (its weight is at the budget).
LAZY_PREFIX = ("transcript_", "file_", "emoji_", "notice_", "article_")
STRINGS = {
    loc: {k: v for k, v in d.items() if not k.startswith(LAZY_PREFIX)}
    for loc, d in _ALL_STRINGS.items()
}
LAZY_STRINGS = {
    loc: {k: v for k, v in d.items() if k.startswith(LAZY_PREFIX)}
    for loc, d in _ALL_STRINGS.items()
}


def compact(name: str, text: str) -> str:
    """The file minified: every visitor downloads it, and this keeps what loads before the
    panel opens under 20 KB gzipped without a build step. Scripts go through rjsmin (comments,
    spaces and the line breaks no statement needs; strings, template literals and regular
    expressions stay as written); the caller fills placeholders first, since they are
    comments (docs/decisions.md, "The widget's scripts are minified by rjsmin").
    """
    if name.endswith(".css"):
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        text = re.sub(r"\s*([{};,])\s*", r"\1", re.sub(r"\s+", " ", text)).strip()
        # "color: red;}" -> "color:red}": only right after a property name (never in a
        # selector such as a:hover, never in a string).
        text = re.sub(r"(?<=[{;])([a-z-]+):\s+", r"\1:", text)
        return text.replace(";}", "}")
    return str(rjsmin.jsmin(text)) + "\n"


def states_json(states: frozenset[Status]) -> str:
    """A set of conversation states as a JSON list, in the order ``Status`` declares them (a
    frozenset's own order changes with each process's hash seed, and every node must serve the
    same bytes under the same content hash)."""
    return orjson.dumps([s.value for s in Status if s in states]).decode()


def fill(name: str, text: str, values: Mapping[str, str]) -> str:
    """``text`` with each placeholder of ``values`` replaced by its value.

    A placeholder that is missing is an error at start: the script would otherwise keep a
    copy of the value of its own, which is what the substitution is there to prevent.
    """
    for placeholder, value in values.items():
        if placeholder not in text:
            raise ValueError(f"widget/{name} has lost its placeholder {placeholder}")
        text = text.replace(placeholder, value)
    return text


# What the server writes into the widget's scripts as it loads them. The placeholder is valid
# JavaScript as it stands (an empty list), so the file on disk still parses and lints.
OPEN_STATES = "/*OPEN_STATUSES*/[]"


@dataclass(frozen=True, slots=True)
class Asset:
    """A static file held in memory, compacted and gzipped, named by a hash of its content."""

    body: bytes
    gzipped: bytes
    media_type: str
    version: str

    @classmethod
    def load(
        cls,
        name: str,
        media_type: str,
        parts: tuple[str, ...] = (),
        values: Mapping[str, str] | None = None,
    ) -> Asset:
        """widget/``name``, followed by the files ``parts`` as one file (each file costs its
        own gzip overhead), with the placeholders of ``values`` filled in."""

        sources = [(WIDGET_DIR / part).read_text(encoding="utf-8") for part in (name, *parts)]
        # Filled before they are minified: the placeholders are comments.
        filled = fill(name, "\0".join(sources), values or {}).split("\0")
        texts = [compact(part, text) for part, text in zip((name, *parts), filled, strict=True)]
        # The first file's "use strict" covers the whole script; the others' would be no-ops.
        text = texts[0] + "".join(t.removeprefix('"use strict";') for t in texts[1:])
        body = text.encode()
        version = hashlib.sha256(body).hexdigest()[:12]
        return cls(body, gzip.compress(body, 9, mtime=0), media_type, version)


ASSETS = {
    "chat-common.js": Asset.load("chat-common.js", "text/javascript"),
    # The panel's script, in parts that panel.html loads in this order (see chat.js). The
    # reconnecting socket it shares with the console and the dashboard (which load socket.js
    # from /static/widget/) comes at the end of chat.js, where it compresses best: it is a
    # function declaration, hoisted, so chat.js can call it while loading.
    "chat.js": Asset.load(
        "chat.js",
        "text/javascript",
        ("socket.js",),
        values={OPEN_STATES: states_json(OPEN_STATUSES)},
    ),
    "chat-view.js": Asset.load("chat-view.js", "text/javascript"),
    "chat-frame.js": Asset.load("chat-frame.js", "text/javascript"),
    "chat.css": Asset.load("chat.css", "text/css"),
    # Loaded by chat-frame.js with import() once the panel opens, never before: lazy.js, which
    # imports the lazily loaded modules (one import() in chat-frame.js for all of them).
    "lazy.js": Asset.load("lazy.js", "text/javascript"),
    "files.js": Asset.load(
        "files.js",
        "text/javascript",
        values={"/*FILES_STRINGS*/{}": orjson.dumps(LAZY_STRINGS).decode()},
    ),
    "files.css": Asset.load("files.css", "text/css"),
    "emoji.js": Asset.load(
        "emoji.js",
        "text/javascript",
        values={"/*EMOJI_STRINGS*/{}": orjson.dumps(LAZY_STRINGS).decode()},
    ),
    "transcript.js": Asset.load(
        "transcript.js",
        "text/javascript",
        values={"/*TRANSCRIPT_STRINGS*/{}": orjson.dumps(LAZY_STRINGS).decode()},
    ),
    # The site's notice: imported by lazy.js, by chat.js when a notice frame comes before the
    # panel opens, and by panel.html itself when the frame is served with one.
    "notice.js": Asset.load(
        "notice.js",
        "text/javascript",
        values={"/*NOTICE_STRINGS*/{}": orjson.dumps(LAZY_STRINGS).decode()},
    ),
    "notice.css": Asset.load("notice.css", "text/css"),
    # The chime on an agent's reply while the page is out of sight (the loader asks for it).
    "attention.js": Asset.load("attention.js", "text/javascript"),
    # Help articles suggested while the visitor types their first message (help_routes.py).
    "articles.js": Asset.load(
        "articles.js",
        "text/javascript",
        values={"/*ARTICLE_STRINGS*/{}": orjson.dumps(LAZY_STRINGS).decode()},
    ),
    "articles.css": Asset.load("articles.css", "text/css"),
}
LOADER = Asset.load("loader.js", "text/javascript")


def _send(
    request: Request, body: bytes, gzipped: bytes | None, headers: dict[str, str]
) -> Response:
    """``body`` (gzipped when the client accepts it), with ``headers``; 304 on a matching ETag."""
    etag = headers.get("ETag")
    if etag and request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    headers = {**headers, "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = gzipped if gzipped is not None else gzip.compress(body, 6)
    return Response(body, headers=headers)


def _asset_response(request: Request, asset: Asset, cache: str) -> Response:
    headers = {
        "Content-Type": f"{asset.media_type}; charset=utf-8",
        "Cache-Control": cache,
        "ETag": f'"{asset.version}"',
        "Access-Control-Allow-Origin": "*",
    }
    return _send(request, asset.body, asset.gzipped, headers)


async def loader_script(request: Request) -> Response:
    # Customers embed this URL as is, so it cannot carry a version: browsers revalidate it
    # every few minutes (a 304 when unchanged).
    return _asset_response(request, LOADER, "public, max-age=300")


async def asset(request: Request) -> Response:
    found = ASSETS.get(request.path_params["name"])
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    if request.query_params.get("v") == found.version:
        return _asset_response(request, found, "public, max-age=31536000, immutable")
    return _asset_response(request, found, "no-cache")


# --- site settings as the widget sees them ---------------------------------------------------


def choose_locale(*candidates: str | None) -> str:
    """The first supported locale among ``candidates`` (tags such as ``fa-IR``, or an
    Accept-Language header); English when none is supported."""
    for candidate in candidates:
        for tag in (candidate or "").split(","):
            primary = tag.split(";")[0].strip().split("-")[0].split("_")[0].lower()
            if primary in LOCALES:
                return primary
    return "en"


def color_or(value: str | None, fallback: str) -> str:
    return value if value and _HEX_COLOR.match(value) else fallback


def frame_ancestors(allowed_origins: str) -> str:
    """CSP frame-ancestors from the site's allowed origins (anything that is not a plain
    origin is dropped, so a setting can never inject another directive)."""
    entries = allowed_origins.replace(",", " ").split()
    if "*" in entries:
        return "*"
    origins = [o.rstrip("/") for o in entries if _ORIGIN.match(o.rstrip("/"))]
    return " ".join(["'self'", *origins])


async def availability(request: Request, site: str, site_cfg: Mapping[str, str]) -> dict[str, Any]:
    """Whether someone can answer now: an agent online, office hours or not, since routing
    hands the chat to them (the router's view of the agents, read at most once a second per
    site and process). ``open`` says whether it is within the office hours;
    ``departments_open``, the same by each listed department's own hours (departments
    without hours of their own follow the site's and are not in it)."""
    services: Services = request.app.state.services
    online = online_count(await services.hub.router.agents(site))
    now = services.hub.clock()
    hours = site_cfg.get("office_hours", "")
    open_now = is_open(hours, now)
    # The parsed hours the SLA clocks use, cached per settings change.
    own = department_clocks(await services.hub.lifecycle.policy(site)).own
    by_dept = {
        d: {"open": is_open_by(own[d].hours, now), "next_open": next_opening_by(own[d].hours, now)}
        for d in site_departments(site_cfg)
        if d in own
    }
    return {
        "available": online > 0,
        "open": open_now,
        "agents_online": online,
        "next_open": next_opening(hours, now),
        "departments_open": by_dept,
    }


async def public_config(
    request: Request, site: str, site_cfg: Mapping[str, str], locale: str = ""
) -> dict[str, Any]:
    """What any visitor may know about the site's widget (never its allowed origins)."""
    return {
        "site": site,
        "name": site_cfg.get("name") or site,
        "greeting": site_cfg.get("greeting", ""),
        "color": color_or(site_cfg.get("color"), DEFAULT_COLOR),
        "prechat": site_cfg.get("prechat") == "1",
        "departments": site_departments(site_cfg),
        "locale": locale or choose_locale(site_cfg.get("locale")),
        **await availability(request, site, site_cfg),
    }


async def _site(request: Request) -> tuple[str, dict[str, str]] | None:
    services: Services = request.app.state.services
    site = request.query_params.get("site") or services.settings.default_site
    if not valid_site_name(site):
        return None
    cfg = await services.hub.site_config(site)
    return None if cfg is None else (site, cfg)


async def config_api(request: Request) -> Response:
    found = await _site(request)
    if found is None:
        return JSONResponse({"error": "unknown site"}, status_code=404)
    body = await public_config(request, *found)
    services: Services = request.app.state.services
    notice = await services.store.notice(found[0], services.hub.clock())
    body["notice"] = notice.public() if notice else None
    # Public and per site; whether agents are online changes, so it is never cached.
    return JSONResponse(
        body, headers={"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"}
    )


# --- pages -------------------------------------------------------------------------------------


async def _panel(request: Request, mode: str) -> Response:
    found = await _site(request)
    if found is None:
        return Response("unknown site", status_code=404, media_type="text/plain")
    site, site_cfg = found
    q = request.query_params
    # data-locale on the script tag, then the host page's lang, the site's default, the browser.
    locale = choose_locale(
        q.get("locale"),
        q.get("lang"),
        site_cfg.get("locale"),
        request.headers.get("accept-language"),
    )
    config = await public_config(request, site, site_cfg, locale)
    services: Services = request.app.state.services
    notice = await services.store.notice(site, services.hub.clock())
    if notice:
        # Only when there is one: without, the frame stays within its byte budget.
        config["notice"] = notice.public()
    # The page's own settings (data-color, data-greeting, data-position) win over the site's.
    config["color"] = color_or(q.get("color"), config["color"])
    if q.get("greeting"):
        config["greeting"] = q["greeting"][:300]
    rtl = locale in RTL_LOCALES
    position = q.get("position", "")
    config["position"] = position if position in ("left", "right") else "left" if rtl else "right"
    host = q.get("host", "").rstrip("/")
    boot = {
        "site": site,
        "mode": mode,
        "host": host if mode == "frame" and _ORIGIN.match(host) else None,
        "locale": locale,
        "strings": STRINGS[locale],
        "config": config,
    }
    html = _templates.get_template("panel.html").render(
        boot=Markup(_script_json(boot)),
        t=STRINGS[locale],
        lang=locale,
        dir="rtl" if rtl else "ltr",
        mode=mode,
        config=config,
        assets={name: f"/widget/assets/{name}?v={a.version}" for name, a in ASSETS.items()},
    )
    csp = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {frame_ancestors(site_cfg.get('allowed_origins', ''))}"
    )
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Content-Security-Policy": csp,
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    return _send(request, html.encode(), None, headers)


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element (no "</script>", no markup), in UTF-8."""
    text = orjson.dumps(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


async def frame_page(request: Request) -> Response:
    return await _panel(request, "frame")


async def chat_page(request: Request) -> Response:
    return await _panel(request, "page")


async def demo_page(request: Request) -> Response:
    services: Services = request.app.state.services
    html = _templates.get_template("demo.html").render(site=services.settings.default_site)
    return Response(html, media_type="text/html")


routes = [
    Route("/", demo_page),
    Route("/widget.js", loader_script),
    Route("/widget/frame", frame_page),
    Route("/widget/assets/{name}", asset),
    Route("/chat", chat_page),
    Route("/api/widget/config", config_api),
]
