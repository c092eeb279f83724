"""When to retry a failed webhook delivery, and when to give up on it. Pure: the time and the
random draw are arguments."""

from __future__ import annotations


def retry_delay_ms(attempt: int, base_ms: int, cap_ms: int, draw: float) -> int:
    """The wait before try ``attempt + 1`` after ``attempt`` failed tries (1-based):
    doubling from ``base_ms`` up to ``cap_ms``, each wait between half and all of its step
    (``draw`` in [0, 1)), so receivers that come back are not hit by every sender at once."""
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    step = min(cap_ms, base_ms * 2 ** min(attempt - 1, 40))
    return max(1, int(step * (0.5 + draw / 2)))


def should_give_up(failing_since: int, now: int, window_ms: int) -> bool:
    """An event has failed since ``failing_since`` (ms): past ``window_ms`` it goes to the
    dead letters and the endpoint moves on."""
    return failing_since > 0 and now - failing_since >= window_ms
