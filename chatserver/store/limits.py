"""Abuse limits in Redis: leases in sorted sets (see chatserver/core/leases.py)."""

from __future__ import annotations

from collections.abc import Sequence

from chatserver.store.base import StoreBase


class LimitStore(StoreBase):
    async def take_lease(
        self,
        limits: Sequence[tuple[str, int, int]],
        member: str,
        now: int,
        publish: tuple[str, bytes] | None = None,
    ) -> tuple[int, int]:
        """Take a lease named ``member`` on every ``(key, limit, expiry ms)``, or on none.

        All keys must share a hash slot. With ``publish`` (channel, payload) the payload is
        published in the same step when the leases are taken. Returns ``(0, -1)`` when
        admitted, else the milliseconds to wait and the index of the limit that refused.
        """
        args: list[str | int | bytes] = [now, member]
        for _, limit, expiry in limits:
            args += [limit, expiry]
        if publish is not None:
            args += [publish[0], publish[1]]
        res = await self.scripts.run("limit", [key for key, _, _ in limits], args)
        wait = int(res[0])
        return (0, -1) if wait == 0 else (wait, int(res[1]) - 1)

    async def release_lease(self, key: str, member: str) -> None:
        await self.r.zrem(key, member)

    async def renew_leases(self, leases: Sequence[tuple[str, str]], now: int, span: int) -> None:
        """Extend leases still held (``(key, member)``) to ``span`` ms after ``now``."""
        pipe = self.r.pipeline(transaction=False)
        for key, member in leases:
            pipe.zadd(key, {member: now + span}, xx=True)
            pipe.pexpire(key, span)
        await pipe.execute()
