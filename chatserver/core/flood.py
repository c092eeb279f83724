"""When a socket is a flooder (closed with 4008): one rule for both kinds of refusal.

A socket is refused in two ways: a frame over its frame rate (the token bucket in the
endpoint), or a request over an abuse limit kept in Redis (messages, new conversations,
typing; chatserver.limits). Each kind counts its refusals in a row, and the socket is a
flooder at :data:`LIMIT_STRIKES` of the first or :data:`FRAME_STRIKES` of the second
(docs/protocol.md and docs/security.md promise both). Frame refusals come many a second
from a runaway loop while a client that honours ``retry_after`` is never refused ten times
running, hence the two counts.
"""

from __future__ import annotations

from dataclasses import dataclass

LIMIT_STRIKES = 10
FRAME_STRIKES = 50


@dataclass(slots=True)
class Flood:
    """One socket's refusals in a row. Each ``*_refused`` returns True when the socket has
    become a flooder and must be closed."""

    limit_refusals: int = 0
    frame_refusals: int = 0

    def frame_refused(self) -> bool:
        self.frame_refusals += 1
        return self.frame_refusals >= FRAME_STRIKES

    def frame_accepted(self) -> None:
        self.frame_refusals = 0

    def limit_refused(self) -> bool:
        self.limit_refusals += 1
        return self.limit_refusals >= LIMIT_STRIKES

    def limit_passed(self) -> None:
        self.limit_refusals = 0
