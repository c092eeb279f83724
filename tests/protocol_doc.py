"""What docs/protocol.md promises, read from the document itself, so tests hold the code to
the contract rather than to a copy of it."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

PROTOCOL_MD = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"


@cache
def documented_error_codes() -> frozenset[str]:
    """The codes in the first column of the "## Errors" table."""
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    section = text.split("\n## Errors", 1)[1].split("\n## ", 1)[0]
    codes = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)
    assert len(codes) >= 10, "the error table of docs/protocol.md was not found"
    return frozenset(codes)
