"""HTTP without a browser for the security tests: no redirects followed, cookies by hand (the
test servers run in production mode, so cookies carry Secure, which urllib would not send
back over http)."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import SimpleCookie


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass
class Reply:
    status: int
    headers: Message
    body: str
    cookies: dict[str, str] = field(default_factory=dict)

    def set_cookie_lines(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


def http(
    base_url: str,
    path: str,
    form: dict[str, str] | None = None,
    *,
    token: str | None = None,
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    json_body: bytes | None = None,
) -> Reply:
    """GET (or POST when ``form`` or ``json_body`` is given) and return what came back."""
    hdrs = dict(headers or {})
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif json_body is not None:
        data = json_body
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    if cookies:
        hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    req = urllib.request.Request(base_url + path, data=data, headers=hdrs)
    try:
        resp = _opener.open(req, timeout=15)
        status, msg, body = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        status, msg, body = exc.code, exc.headers, exc.read()
    jar: SimpleCookie = SimpleCookie()
    for line in msg.get_all("Set-Cookie") or []:
        jar.load(line)
    return Reply(status, msg, body.decode("utf-8", "replace"), {k: m.value for k, m in jar.items()})


def csrf(base_url: str, token: str | None = None, path: str = "/login") -> dict[str, str]:
    """A CSRF cookie value from a page that renders a form: ``{"cs_csrf": value}``."""
    reply = http(base_url, path, token=token)
    assert "cs_csrf" in reply.cookies, (path, reply.status)
    return {"cs_csrf": reply.cookies["cs_csrf"]}
