from __future__ import annotations

from pathlib import Path

import pytest

from chatserver.auth import hash_password, verify_password, verify_visitor_token, visitor_token
from chatserver.config import ConfigError, ensure_secret, load_dotenv, settings_from_env

SECRET = "s" * 40


def test_visitor_token_round_trip_and_binding() -> None:
    token = visitor_token(SECRET, "demo", "v_abc", now_s=1000, ttl_s=60)
    assert verify_visitor_token(SECRET, token, "demo", 1030) == "v_abc"
    assert verify_visitor_token(SECRET, token, "other", 1030) is None  # bound to its site
    assert verify_visitor_token(SECRET, token, "demo", 1061) is None  # expired
    assert verify_visitor_token("t" * 40, token, "demo", 1030) is None  # another key
    forged = token.replace("v_abc", "v_xyz")
    assert verify_visitor_token(SECRET, forged, "demo", 1030) is None
    assert verify_visitor_token(SECRET, "garbage", "demo", 1030) is None


def test_passwords() -> None:
    h = hash_password("correct horse")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "correct horse")
    assert not verify_password(h, "wrong")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "x")


def test_settings_defaults_and_validation(tmp_path: Path) -> None:
    s = settings_from_env({}, dotenv=None)
    assert s.port == 8000 and s.redis_url is None and s.default_site == "demo"
    s = settings_from_env({"PORT": "9000", "REDIS_URL": "redis://h:1/0"}, dotenv=None)
    assert s.port == 9000 and s.redis_url == "redis://h:1/0"
    for env, needle in [
        ({"PORT": "x"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"CHATSERVER_ENV": "prod"}, "CHATSERVER_ENV"),
        ({"CHATSERVER_ENV": "production"}, "CHATSERVER_SECRET_KEY"),
        ({"CHATSERVER_SECRET_KEY": "short"}, "CHATSERVER_SECRET_KEY"),
        ({"CHATSERVER_DEFAULT_SITE": "bad site"}, "CHATSERVER_DEFAULT_SITE"),
    ]:
        with pytest.raises(ConfigError, match=needle):
            settings_from_env(env, dotenv=None)


def test_dotenv_and_generated_secret(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nexport CHATSERVER_PORT='8123'\nCHATSERVER_LOG_LEVEL=debug\n")
    assert load_dotenv(env_file) == {"CHATSERVER_PORT": "8123", "CHATSERVER_LOG_LEVEL": "debug"}
    s = settings_from_env({"CHATSERVER_DATA_DIR": str(tmp_path / "var")}, dotenv=env_file)
    assert s.port == 8123 and s.log_level == "debug"
    first = ensure_secret(s)
    again = ensure_secret(s)
    assert len(first.secret_key) >= 32 and first.secret_key == again.secret_key
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
