"""What an acknowledgement promises on this Redis, found out at start (CHATSERVER_DURABILITY).

- ``disk``: an ack (and every state change a client is told about) is sent only once the
  write is fsynced. Redis with ``appendfsync always`` fsyncs before it replies, so nothing
  more is needed; otherwise, on Redis 7.2 or newer, every pipeline ends with ``WAITAOF 1 0``.
- ``replica``: every pipeline ends with ``WAIT n``; fewer replicas in time and the calls of
  that pipeline fail as unavailable (nothing is acknowledged; the client retries, and the
  client id makes the retry store nothing twice).
- ``memory``: in Redis's memory, no wait.

A Redis that cannot keep the promise asked for (no AOF, ``everysec`` and no WAITAOF, CONFIG
refused) is not pretended about: the server says what an ack means there and what to change.
:func:`decide` is pure; :func:`probe` reads the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError


@dataclass(frozen=True, slots=True)
class Promise:
    requested: str  # disk | replica | memory
    effective: str  # what holds: disk | replica | memory
    means: str  # what an ack means here, in words
    wait: tuple[str | int, ...] = ()  # command ending every pipeline (WAIT / WAITAOF)
    advice: str = ""  # what to change when the requested promise cannot be kept

    @property
    def kept(self) -> bool:
        return self.requested == self.effective

    def satisfied(self, reply: Any) -> bool:
        """Did the wait command's reply reach what the promise needs?"""
        if not self.wait:
            return True
        if self.wait[0] == "WAITAOF":
            return isinstance(reply, list | tuple) and int(reply[0]) >= 1
        return isinstance(reply, int) and reply >= int(self.wait[1])

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.effective, "requested": self.requested}
        out["ack_means"] = self.means
        if self.advice:
            out["advice"] = self.advice
        return out


def _version(text: str) -> tuple[int, int, int]:
    parts = [int(p) if p.isdigit() else 0 for p in text.split(".")] + [0, 0, 0]
    return parts[0], parts[1], parts[2]


def decide(
    requested: str,
    version: tuple[int, int, int],
    appendonly: str | None,
    appendfsync: str | None,
    min_replicas: int = 1,
    timeout_ms: int = 1000,
) -> Promise:
    """The promise a Redis of ``version`` with these settings (None: CONFIG refused) keeps."""
    has_waitaof = version >= (7, 2, 0)
    aof = appendonly == "yes"
    if requested == "replica":
        return Promise(
            "replica",
            "replica",
            f"stored on the primary and on at least {min_replicas} replica(s) (WAIT)",
            ("WAIT", min_replicas, timeout_ms),
        )
    if requested == "memory":
        return Promise("memory", "memory", _memory_means(aof, appendfsync))
    if aof and appendfsync == "always":
        return Promise("disk", "disk", "fsynced to the append-only file (appendfsync always)")
    if has_waitaof and (aof or appendonly is None):
        return Promise(
            "disk",
            "disk",
            "fsynced to the append-only file (WAITAOF after each pipeline)",
            ("WAITAOF", 1, 0, timeout_ms),
        )
    if appendonly is None:
        why = f"CONFIG GET is refused and Redis {'.'.join(map(str, version))} has no WAITAOF"
    elif not aof:
        why = "Redis runs without an append-only file (appendonly no)"
    else:
        why = f"Redis fsyncs every second (appendfsync {appendfsync}) and has no WAITAOF (7.2+)"
    return Promise(
        "disk",
        "memory",
        _memory_means(aof, appendfsync),
        advice=(
            f"cannot wait for disk: {why}; set 'appendonly yes' and 'appendfsync always' "
            "(or use Redis 7.2+), or choose CHATSERVER_DURABILITY=memory knowingly"
        ),
    )


def _memory_means(aof: bool, appendfsync: str | None) -> str:
    if aof and appendfsync:
        return (
            f"in Redis's memory, written to the append-only file (appendfsync {appendfsync}); "
            "a machine crash may lose the last second"
        )
    return "in Redis's memory only; a Redis crash loses what is not saved"


async def probe(client: Redis, requested: str, min_replicas: int, timeout_ms: int) -> Promise:
    """Read the server's version and persistence settings, then :func:`decide`."""
    info = await client.info("server")
    version = _version(str(info.get("redis_version", "0")))
    appendonly: str | None
    appendfsync: str | None
    try:
        conf = await client.config_get("append*")
        appendonly, appendfsync = conf.get("appendonly"), conf.get("appendfsync")
    except (ResponseError, RedisError):
        appendonly = appendfsync = None
    return decide(requested, version, appendonly, appendfsync, min_replicas, timeout_ms)
