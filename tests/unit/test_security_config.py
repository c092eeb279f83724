"""Settings of the security features: key rotation, trusted proxies, limits, secure cookies."""

from __future__ import annotations

import pytest

from chatserver.auth import verify_visitor_token, visitor_token
from chatserver.config import ConfigError, settings_from_env

OLD, NEW = "o" * 40, "n" * 40


def test_rotation_keys_and_networks_are_parsed_and_checked() -> None:
    s = settings_from_env(
        {
            "CHATSERVER_SECRET_KEY": NEW,
            "CHATSERVER_SECRET_KEY_OLD": f"{OLD}, {'p' * 32}",
            "CHATSERVER_TRUSTED_PROXIES": "10.0.0.5, 192.168.1.0/24 ::1",
            "CHATSERVER_LIMIT_EXEMPT": "",
            "CHATSERVER_LIMIT_MESSAGES_PER_MINUTE": "0",
        },
        dotenv=None,
    )
    assert s.old_secret_keys == (OLD, "p" * 32)
    assert s.trusted_proxies == "10.0.0.5/32 192.168.1.0/24 ::1/128"
    assert s.limit_exempt == "" and s.limit_messages_per_minute == 0
    for env in (
        {"CHATSERVER_SECRET_KEY_OLD": "short"},
        {"CHATSERVER_TRUSTED_PROXIES": "proxy.internal"},
        {"CHATSERVER_LIMIT_EXEMPT": "*"},
        {"CHATSERVER_LIMIT_CONNECTIONS_PER_IP": "-1"},
    ):
        with pytest.raises(ConfigError):
            settings_from_env(env, dotenv=None)


def test_secure_cookies_in_production_or_behind_https() -> None:
    assert not settings_from_env({}, dotenv=None).secure_cookies
    https = {"CHATSERVER_PUBLIC_URL": "https://chat.example.com"}
    assert settings_from_env(https, dotenv=None).secure_cookies
    prod = {"CHATSERVER_ENV": "production", "CHATSERVER_SECRET_KEY": NEW}
    assert settings_from_env(prod, dotenv=None).secure_cookies


def test_old_keys_verify_and_non_ascii_signatures_are_refused() -> None:
    token = visitor_token(OLD, "demo", "v_1", 1000, 60)
    assert verify_visitor_token(NEW, token, "demo", 1010) is None
    assert verify_visitor_token(NEW, token, "demo", 1010, (OLD,)) == "v_1"
    assert verify_visitor_token(NEW, token + "é", "demo", 1010, (OLD,)) is None
    assert verify_visitor_token(NEW, token, "demo", 2000, (OLD,)) is None  # expired
