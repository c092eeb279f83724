"""The retention rules (chatserver.core.retention): what a setting means, and the cutoff."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatserver.core.retention import (
    DAY_MS,
    DEFAULT_RETENTION_DAYS,
    MAX_RETENTION_DAYS,
    cutoff_ms,
    parse_retention_days,
    retention_days,
)


@pytest.mark.parametrize(
    ("raw", "days"),
    [
        (None, DEFAULT_RETENTION_DAYS),
        ("", DEFAULT_RETENTION_DAYS),
        ("30", 30),
        ("0", 0),
        (" 7 ", 7),
        ("-3", DEFAULT_RETENTION_DAYS),  # a typo never deletes more than the default
        ("ten", DEFAULT_RETENTION_DAYS),
        ("99999", MAX_RETENTION_DAYS),
    ],
)
def test_the_setting(raw: str | None, days: int) -> None:
    settings = {} if raw is None else {"retention_days": raw}
    assert retention_days(settings) == days


@pytest.mark.parametrize("raw", ["-1", "1.5", "", "3651", "abc"])
def test_the_admin_page_refuses(raw: str) -> None:
    with pytest.raises(ValueError, match="whole number of days"):
        parse_retention_days(raw)


@given(st.integers(0, 2**45), st.integers(0, MAX_RETENTION_DAYS))
def test_the_cutoff_is_that_many_days_back(now: int, days: int) -> None:
    cutoff = cutoff_ms(now, days)
    if days == 0:
        assert cutoff is None  # keeps everything
    else:
        assert cutoff == now - days * DAY_MS
