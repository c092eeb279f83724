"""What REDIS_URL may name (chatserver.redis_url), and the messages for what it may not."""

from __future__ import annotations

import pytest

from chatserver.config import ConfigError, settings_from_env
from chatserver.redis_url import parse_redis_url, redact


def test_one_redis() -> None:
    for url in ("redis://h:6379/0", "rediss://u:p@h:6380/1", "unix:///tmp/redis.sock"):
        assert parse_redis_url(url).kind == "single"


def test_a_sentinel_group() -> None:
    t = parse_redis_url("redis+sentinel://app:s3cr%40t@10.0.0.1:26379,[::1]:26380/chat/2")
    assert t.kind == "sentinel" and t.service == "chat" and t.db == 2 and not t.tls
    assert t.sentinels == (("10.0.0.1", 26379), ("::1", 26380))
    assert (t.username, t.password, t.sentinel_password) == ("app", "s3cr@t", None)
    tls = parse_redis_url("rediss+sentinel://h:26379/chat?sentinel_password=x")
    assert tls.tls and tls.sentinel_password == "x" and tls.db == 0


def test_a_cluster() -> None:
    t = parse_redis_url("redis+cluster://app:s%40lt@10.0.0.1:7000,[::1]:7001,node-3:7002")
    assert t.kind == "cluster" and not t.tls and t.db == 0
    assert t.sentinels == (("10.0.0.1", 7000), ("::1", 7001), ("node-3", 7002))
    assert (t.username, t.password) == ("app", "s@lt")
    for url in ("rediss+cluster://h:7000", "rediss+cluster://h:7000/", "REDIS+CLUSTER://h:1/0"):
        one = parse_redis_url(url)
        assert one.kind == "cluster" and one.sentinels[0][0] == "h"
    assert parse_redis_url("rediss+cluster://h:7000").tls
    assert parse_redis_url("redis+cluster://h:7000").username is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis+sentinel://h:26379", "name the service"),
        ("redis+sentinel://h/chat", "is not a sentinel's host:port"),
        ("redis+sentinel://h:99999/chat", "is not a sentinel's host:port"),
        ("redis+sentinel://h:1,/chat", "is not a sentinel's host:port"),
        ("redis+sentinel://h:1/chat/x", "only a database number"),
        ("redis+sentinel://h:1/chat?ssl=1", "unknown option 'ssl'"),
        ("redis+cluster://h", "is not a cluster node's host:port"),
        ("redis+cluster://h:7000,", "is not a cluster node's host:port"),
        ("redis+cluster://h:70000", "is not a cluster node's host:port"),
        ("redis+cluster://h:7000/1", "only database 0"),
        ("redis+cluster://h:7000/chat", "only database 0"),
        ("redis+cluster://h:7000?ssl=1", "takes no options"),
        ("http://h:6379", "must start with"),
    ],
)
def test_refusals_say_what_is_wrong(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_redis_url(url)
    with pytest.raises(ConfigError, match=says):
        settings_from_env({"REDIS_URL": url}, dotenv=None)


def test_passwords_never_reach_a_log() -> None:
    assert redact("redis://u:pw@h:6379/0") == "redis://u:***@h:6379/0"
    assert "pw" not in redact("redis+sentinel://u:pw@a:1,b:2/chat")
    assert "pw" not in redact("redis+cluster://u:pw@a:1,b:2")
    assert "pw" not in redact("rediss+cluster://u:pw@a:1")
    assert redact("redis://h:6379/0") == "redis://h:6379/0"
