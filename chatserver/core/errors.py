"""The one shape of a refusal the pure core and the file checks raise: a documented error
code and a sentence for people."""

from __future__ import annotations


class CodedError(ValueError):
    """Input a rule refuses: ``code`` is the documented error code (docs/protocol.md, the
    admin pages' messages), the message says why in a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
