"""docs/protocol.md and chatserver/close_codes.py list the same close codes."""

from __future__ import annotations

import re

from chatserver.close_codes import CloseCode
from tests.protocol_doc import PROTOCOL_MD

# 1006 is what a client sees when a connection drops without a close frame; no server sends it.
NEVER_SENT = {1006}


def test_the_doc_and_the_enum_agree() -> None:
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    documented = {int(c) for c in re.findall(r"`(1\d{3}|4\d{3})`", text)} - NEVER_SENT
    assert documented == {int(c) for c in CloseCode}
