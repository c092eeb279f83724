"""A message on its way into a conversation's stream, as it lies there, and the receipt."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a visitor, an agent, a bot or a note adds to a conversation. ``client_id`` makes the
    step idempotent: the same id stored twice is stored once."""

    site: str
    conv_id: str
    kind: str  # visitor | agent | bot | note
    sender_id: str
    sender_name: str
    client_id: str
    text: str
    now: int  # ms
    file_id: str = ""  # an uploaded file the message carries (chatserver/files/)
    file_meta: str = ""  # that file's metadata (JSON), stored with the message


@dataclass(frozen=True, slots=True)
class Stored:
    """A message as it lies in a conversation's stream."""

    id: str
    kind: str  # visitor | agent | bot | note | system
    sender_id: str
    sender_name: str
    client_id: str
    text: str
    ts: int
    event: str = ""
    file: str = ""  # the attached file's metadata as JSON ('' for none)


@dataclass(frozen=True, slots=True)
class SendResult:
    """The receipt: stored under ``id`` at ``ts`` (the first time, when ``duplicate``)."""

    id: str
    ts: int
    duplicate: bool
    response_ms: int | None = None
