"""Who may read GET /metrics: a bearer token when one is set, else only the host itself."""

from __future__ import annotations

from starlette.requests import Request

from chatserver.prometheus import allowed


def request(host: str, authorization: str | None = None) -> Request:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    return Request({"type": "http", "headers": headers, "client": (host, 40000)})


def test_without_a_token_only_loopback_clients() -> None:
    assert allowed(request("127.0.0.1"), "")
    assert allowed(request("::1"), "")
    assert not allowed(request("10.0.0.5"), "")
    assert not allowed(request("10.0.0.5", "Bearer anything"), "")


def test_with_a_token_everyone_needs_it() -> None:
    assert allowed(request("10.0.0.5", "Bearer s3cret-token"), "s3cret-token")
    assert allowed(request("10.0.0.5", "bearer s3cret-token"), "s3cret-token")
    assert not allowed(request("127.0.0.1"), "s3cret-token")
    assert not allowed(request("10.0.0.5", "Bearer wrong"), "s3cret-token")
    assert not allowed(request("10.0.0.5", "Basic s3cret-token"), "s3cret-token")
