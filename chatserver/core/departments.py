"""A list of departments as sites and agent accounts store it: one comma-separated string."""

from __future__ import annotations

from collections.abc import Iterable


def parse_departments(raw: str | None) -> list[str]:
    """The names in ``raw`` in their order, trimmed, without blanks or repeats. Commas and
    line breaks both separate (the admin form's text area takes one a line)."""
    names = (d.strip() for d in (raw or "").replace("\n", ",").split(","))
    return list(dict.fromkeys(d for d in names if d))


def join_departments(names: Iterable[str]) -> str:
    return ",".join(parse_departments(",".join(names)))
