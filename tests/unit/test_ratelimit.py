from __future__ import annotations

from chatserver.core.ratelimit import TokenBucket


def test_burst_then_refill() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == 0.5  # half a second until the next token
    assert bucket.take(0.5) == 0.0
    assert bucket.take(10.0) == 0.0  # refills up to the burst only
    assert bucket.tokens == 2.0
