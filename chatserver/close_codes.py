"""Every WebSocket close code the server uses or documents, in one place.

docs/protocol.md lists exactly these (tests/unit/test_close_codes.py holds the two to each
other). The 1000-range codes are the RFC's; 1007 and 1009 are sent by the WebSocket layer
itself, not by our code, and are here because clients see them.
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    INVALID_UTF8 = 1007  # a text frame that is not UTF-8
    TOO_BIG = 1009  # a frame over four times CHATSERVER_MAX_FRAME_BYTES
    RESTARTING = 1012  # the server is stopping; reconnect elsewhere
    TRY_AGAIN = 1013  # this session could not start or replay now (Redis); reconnect, resume
    FLOOD = 4008  # too many frames or refusals
    TOO_SLOW = 4009  # the outbound queue overflowed; reconnect and resume
    UNAUTHORIZED = 4401  # no valid session, deactivated, signed out
    FORBIDDEN = 4403  # Origin not allowed (refused before upgrade); dashboard: not a supervisor
    UNKNOWN_SITE = 4404
