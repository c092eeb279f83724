"""The book of every message a run sends: when it was sent, acked, delivered, echoed.

All times come from one clock (``time.perf_counter``): senders and receivers live in the same
process, so a send-to-delivery latency is a plain difference.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

now = time.perf_counter


class Msg:
    """One message the generator sent (visitor or agent)."""

    __slots__ = ("cid", "conv", "id", "kind", "measured", "t_ack", "t_echo", "t_other", "t_send")

    def __init__(self, cid: str, kind: str, measured: bool) -> None:
        self.cid = cid
        self.kind = kind  # "visitor" | "agent"
        self.measured = measured
        self.t_send = now()
        self.t_ack: float | None = None
        self.t_other: float | None = None  # first receipt by the other side
        self.t_echo: float | None = None  # first receipt of the echo by the sender
        self.id = ""
        self.conv = ""


class Tracker:
    """Counts and times every message; shared by all peers of a run."""

    def __init__(self) -> None:
        self.msgs: dict[str, Msg] = {}
        self.measuring = False
        self.replies = True  # agents answer visitor messages
        self.created = 0
        self.acked = 0
        self.delivered = 0  # first deliveries to the other side
        self.echoed = 0
        self.duplicates = 0
        self.duplicate_samples: list[dict[str, Any]] = []
        self.out_of_order = 0
        self.unknown = 0
        self.dup_acks = 0
        self.errors: Counter[str] = Counter()
        self.reconnects = 0
        self.reconnect_failures = 0
        self.close_codes: Counter[str] = Counter()
        self.handler_errors: Counter[str] = Counter()

    def new(self, cid: str, kind: str, measured: bool | None = None) -> Msg:
        rec = Msg(cid, kind, self.measuring if measured is None else measured)
        self.msgs[cid] = rec
        self.created += 1
        return rec

    def settled(self) -> bool:
        """Every message sent so far reached the other side and came back to its sender."""
        return self.delivered >= self.created and self.echoed >= self.created

    def duplicate(self, who: str, frame: dict[str, Any]) -> None:
        self.duplicates += 1
        if len(self.duplicate_samples) < 10:
            self.duplicate_samples.append(
                {
                    "peer": who,
                    "id": frame.get("id"),
                    "conversation_id": frame.get("conversation_id"),
                    "from": frame.get("from"),
                    "client_id": frame.get("client_id"),
                }
            )


class GcWatch:
    """Times the generator's own garbage-collector pauses (they stall every socket at once)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self._t = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t = now()
        else:
            self.pauses.append((int(info.get("generation", 0)), now() - self._t))

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._callback)

    def summary(self) -> dict[str, Any]:
        total = sum(d for _, d in self.pauses)
        return {
            "collections": len(self.pauses),
            "full_collections": sum(1 for g, _ in self.pauses if g == 2),
            "total_ms": round(total * 1000, 1),
            "max_ms": round(max((d for _, d in self.pauses), default=0.0) * 1000, 2),
        }


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """No garbage collection in the generator while measuring.

    A full collection walks every tracked object (~100k here: peers, frames, message records)
    and stalls all sockets for tens to hundreds of milliseconds, which would show up as server
    latency. The measured phases are short and make almost no reference cycles.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
