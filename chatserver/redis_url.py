"""What ``REDIS_URL`` names: one Redis (``redis://``, ``rediss://``, ``unix://``) or a Sentinel
group watching a primary (``redis+sentinel://``). Pure: parsing and validation, no I/O.

A Sentinel URL lists the sentinels and names the service they watch::

    redis+sentinel://[user:password@]host:port[,host:port...]/SERVICE[/DB]

``rediss+sentinel://`` connects to the primary (and the sentinels) over TLS. The user and
password are the primary's; sentinels that need their own password take it as
``?sentinel_password=...``.

A Redis Cluster URL lists some of the cluster's nodes (any of them: the client learns the rest
from the first that answers)::

    redis+cluster://[user:password@]host:port[,host:port...][/0]

``rediss+cluster://`` speaks TLS to every node. A cluster has only database 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

SINGLE_SCHEMES = frozenset({"redis", "rediss", "unix"})
SENTINEL_SCHEMES = frozenset({"redis+sentinel", "rediss+sentinel"})
CLUSTER_SCHEMES = frozenset({"redis+cluster", "rediss+cluster"})
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+):(\d{1,5})$")
_SERVICE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True, slots=True)
class RedisTarget:
    kind: str  # "single" | "sentinel" | "cluster"
    url: str  # as given (a single Redis is opened from it)
    sentinels: tuple[tuple[str, int], ...] = ()  # the sentinels, or the cluster's nodes
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    tls: bool = False


def parse_redis_url(url: str) -> RedisTarget:
    """The target of ``url``; raises ValueError with a message fit for an operator."""
    text = url.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in SINGLE_SCHEMES:
        return RedisTarget("single", text)
    if scheme not in SENTINEL_SCHEMES | CLUSTER_SCHEMES:
        raise ValueError(
            "REDIS_URL must start with redis://, rediss://, unix://, redis+sentinel:// or "
            f"redis+cluster://, got {scheme or text!r}"
        )
    rest = text.split("://", 1)[1]
    netloc, _, tail = rest.partition("/")
    query = ""
    if "?" in tail:
        tail, _, query = tail.partition("?")
    elif "?" in netloc:
        netloc, _, query = netloc.partition("?")
    username = password = None
    if "@" in netloc:
        creds, _, netloc = netloc.rpartition("@")
        user, _, secret = creds.partition(":")
        username, password = unquote(user) or None, unquote(secret) or None
    if scheme in CLUSTER_SCHEMES:
        nodes = _host_ports(netloc, "a cluster node's", "redis+cluster://host:port[,host:port...]")
        if tail.strip("/") not in ("", "0"):
            raise ValueError(
                "REDIS_URL: a Redis Cluster has only database 0; nothing else may follow the "
                f"nodes (got /{tail})"
            )
        if query:
            raise ValueError(f"REDIS_URL: redis+cluster:// takes no options (got ?{query})")
        return RedisTarget(
            "cluster",
            text,
            nodes,
            username=username,
            password=password,
            tls=scheme.startswith("rediss"),
        )
    sentinels = _host_ports(
        netloc, "a sentinel's", "redis+sentinel://host:port[,host:port...]/SERVICE[/DB]"
    )
    pieces = [p for p in tail.split("/") if p]
    if not pieces or not _SERVICE.match(pieces[0]):
        raise ValueError(
            "REDIS_URL: name the service the sentinels watch, e.g. "
            "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster"
        )
    db = 0
    if len(pieces) > 2 or (len(pieces) == 2 and not pieces[1].isdigit()):
        raise ValueError("REDIS_URL: after the service only a database number may follow")
    if len(pieces) == 2:
        db = int(pieces[1])
    options = parse_qs(query)
    unknown = sorted(set(options) - {"sentinel_password"})
    if unknown:
        raise ValueError(f"REDIS_URL: unknown option {unknown[0]!r} (known: sentinel_password)")
    sentinel_password = options.get("sentinel_password", [None])[0]
    return RedisTarget(
        "sentinel",
        text,
        sentinels,
        pieces[0],
        db,
        username,
        password,
        sentinel_password,
        scheme.startswith("rediss"),
    )


def _host_ports(netloc: str, what: str, form: str) -> tuple[tuple[str, int], ...]:
    found = []
    for part in netloc.split(","):
        match = _HOST_PORT.match(part.strip())
        if match is None or not 0 < int(match[2]) < 65536:
            raise ValueError(
                f"REDIS_URL: {part.strip() or '(empty)'!r} is not {what} host:port ({form})"
            )
        found.append((match[1].strip("[]"), int(match[2])))
    return tuple(found)


def redact(url: str) -> str:
    """The URL without its password, for logs and the start banner."""
    parts = urlsplit(url) if "," not in url else None
    if parts is not None and parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    if "@" in url and "://" in url:
        scheme, _, rest = url.partition("://")
        creds, _, host = rest.rpartition("@")
        user = creds.partition(":")[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url
