"""The flood rule: a socket is a flooder after ten limit refusals or fifty frame refusals in a
row, each count reset by its own success."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chatserver.core.flood import FRAME_STRIKES, LIMIT_STRIKES, Flood

STEPS = st.lists(st.sampled_from(["frame_refused", "frame_ok", "limit_refused", "limit_ok"]))


def longest_run(steps: list[str], refused: str, ok: str) -> int:
    best = run = 0
    for s in steps:
        if s == refused:
            run += 1
            best = max(best, run)
        elif s == ok:
            run = 0
    return best


@given(STEPS)
def test_flooder_exactly_when_a_run_reaches_its_threshold(steps: list[str]) -> None:
    flood, flooded_at = Flood(), None
    for i, step in enumerate(steps):
        if (step == "frame_refused" and flood.frame_refused()) or (
            step == "limit_refused" and flood.limit_refused()
        ):
            flooded_at = i
            break
        if step == "frame_ok":
            flood.frame_accepted()
        elif step == "limit_ok":
            flood.limit_passed()
    seen = steps if flooded_at is None else steps[: flooded_at + 1]
    frames = longest_run(seen, "frame_refused", "frame_ok")
    limits = longest_run(seen, "limit_refused", "limit_ok")
    assert (flooded_at is not None) == (frames >= FRAME_STRIKES or limits >= LIMIT_STRIKES)


def test_the_documented_thresholds() -> None:
    # docs/protocol.md: "ten in a row, or 50 frames over the frame rate"
    assert (LIMIT_STRIKES, FRAME_STRIKES) == (10, 50)
