"""The wire codec: decode and validate client frames, encode server frames.

Pure functions, no I/O. `docs/protocol.md` is the contract; every error code raised here is
listed there. A frame is validated completely (types, lengths, unknown fields) before any
handler sees it, so handlers can trust their input.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgpack
import orjson

JSON: Final = "json"
MSGPACK: Final = "msgpack"
SUBPROTOCOLS: Final = (MSGPACK, JSON)


# Error frames sent by this process, by code (exposed by /metrics).
ERROR_FRAMES: dict[str, int] = {}


class ProtocolError(Exception):
    """A client frame that cannot be served. ``code`` is a stable, documented error code."""

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        ref: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.ref = ref
        self.retry_after = retry_after

    def frame(self) -> dict[str, Any]:
        ERROR_FRAMES[self.code] = ERROR_FRAMES.get(self.code, 0) + 1
        out: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.ref is not None:
            out["ref"] = self.ref
        if self.retry_after is not None:
            # Rounded up to the millisecond: a bucket a hair short of a token must not say
            # "retry after 0" (a client honouring it would be refused again at once).
            out["retry_after"] = max(0.001, math.ceil(self.retry_after * 1000) / 1000)
        return out


_CLIENT_ID = re.compile(r"^[A-Za-z0-9_\-.:]{1,64}$")
_CONV_ID = re.compile(r"^c_[A-Za-z0-9_-]{1,40}$")
_STREAM_ID = STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_TIMEZONE = re.compile(r"^[A-Za-z0-9_+\-/]{1,64}$")
_AGENT_ID = re.compile(r"^a_[A-Za-z0-9_-]{1,40}$")
_FILE_ID = re.compile(r"^f_[A-Za-z0-9_-]{1,40}$")
_LABEL_ID = re.compile(r"^l_[A-Za-z0-9_-]{1,40}$")
# An address a person could receive mail at: no spaces, no markup or quoting characters, a
# domain of letter-or-digit labels (any script) with at least one dot. Empty clears it.
_EMAIL = re.compile(
    r"^(?:[^\s@<>()\[\]\\,;:\"']{1,64}@[^\W_](?:[\w-]{0,61}[^\W_])?"
    r"(?:\.[^\W_](?:[\w-]{0,61}[^\W_])?)+)?$"
)


def message_parts(f: dict[str, Any]) -> tuple[str, str]:
    """A message frame's (text, file id): at least one of them, or ``invalid_field``."""
    text, file_id = f.get("text", ""), f.get("file", "")
    if not text and not file_id:
        ref = f.get("client_id")
        raise ProtocolError("invalid_field", "message needs text or a file", field="text", ref=ref)
    return text, file_id


def valid_email(value: str) -> bool:
    """True for an empty string or a plausible e-mail address (see docs/protocol.md)."""
    return _EMAIL.match(value) is not None


@dataclass(frozen=True, slots=True)
class Field:
    kind: type | tuple[type, ...]
    required: bool = False
    max_len: int | None = None
    min_len: int = 0
    pattern: re.Pattern[str] | None = None
    choices: frozenset[str] | None = None
    strip: bool = False
    # Inclusive bounds of an int field.
    lowest: int | None = None
    highest: int | None = None


_PAGE = Field(dict)
# A signed identity (hello, identify): loose here (a string or a number, as the page gave
# it), so that a malformed one still lets the session start; chatserver/identity.py checks
# each value and answers identity_invalid.
_ANY_SCALAR = Field((str, int, float), max_len=1024)
_SIGNED: Final[dict[str, Field]] = {
    "user_id": _ANY_SCALAR,
    "signature": _ANY_SCALAR,
    "issued_at": _ANY_SCALAR,
}
_TEXT_MAX = 4000  # overridden by Codec(max_message_length)

VISITOR_FRAMES: Final[dict[str, dict[str, Field]]] = {
    "hello": {
        "token": Field(str, max_len=1024),
        "cursor": Field(str, pattern=_STREAM_ID),
        "page": _PAGE,
        "locale": Field(str, max_len=35),
        "name": Field(str, max_len=100, strip=True),
        "email": Field(str, max_len=254, strip=True),
        "department": Field(str, max_len=40),
        "timezone": Field(str, pattern=_TIMEZONE),
        **_SIGNED,
    },
    "message": {
        "client_id": Field(str, required=True, pattern=_CLIENT_ID),
        # text, a file (uploaded first: docs/protocol.md, "Files") or both: see message_parts
        "text": Field(str, strip=True),
        "file": Field(str, pattern=_FILE_ID),
    },
    "typing": {"state": Field(bool, required=True), "preview": Field(str, max_len=200)},
    "identify": {
        "name": Field(str, max_len=100, strip=True),
        "email": Field(str, max_len=254, strip=True, pattern=_EMAIL),
        "department": Field(str, max_len=40),
        **_SIGNED,
    },
    "rate": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "score": Field(int, required=True, lowest=1, highest=5),
        "comment": Field(str, max_len=1000, strip=True),
    },
    "read": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "id": Field(str, required=True, pattern=_STREAM_ID),
    },
    "sync": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "after": Field(str, pattern=_STREAM_ID),
    },
    "page": {"page": Field(dict, required=True)},
    "resolve": {},
    "ping": {},
}

AGENT_FRAMES: Final[dict[str, dict[str, Field]]] = {
    "hello": {
        "cursors": Field(dict),
        "status": Field(str, choices=frozenset({"online", "away"})),
    },
    "message": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "client_id": Field(str, required=True, pattern=_CLIENT_ID),
        "text": Field(str, strip=True),
        "file": Field(str, pattern=_FILE_ID),
    },
    "typing": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "state": Field(bool, required=True),
        # Accepted as visitors send it, never forwarded: visitors see no previews.
        "preview": Field(str, max_len=200),
    },
    "read": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "id": Field(str, required=True, pattern=_STREAM_ID),
    },
    "sync": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "after": Field(str, pattern=_STREAM_ID),
    },
    "claim": {"conversation_id": Field(str, required=True, pattern=_CONV_ID)},
    "resolve": {"conversation_id": Field(str, required=True, pattern=_CONV_ID)},
    "status": {"status": Field(str, required=True, choices=frozenset({"online", "away"}))},
    "note": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "client_id": Field(str, required=True, pattern=_CLIENT_ID),
        "text": Field(str, required=True, min_len=1, strip=True),
    },
    "transfer": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "agent_id": Field(str, pattern=_AGENT_ID),
        "department": Field(str, max_len=40, strip=True),
        "note": Field(str, max_len=1000, strip=True),
    },
    "reopen": {"conversation_id": Field(str, required=True, pattern=_CONV_ID)},
    "snooze": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "until": Field(int, required=True, lowest=0, highest=2**53),
    },
    "label": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "label_id": Field(str, required=True, pattern=_LABEL_ID),
        "action": Field(str, required=True, choices=frozenset({"add", "remove"})),
    },
    # Supervision (supervisors and admins): chatserver/supervision.py
    "monitor": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "after": Field(str, pattern=_STREAM_ID),
    },
    "unmonitor": {"conversation_id": Field(str, required=True, pattern=_CONV_ID)},
    "whisper": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "client_id": Field(str, required=True, pattern=_CLIENT_ID),
        "text": Field(str, required=True, min_len=1, strip=True),
    },
    "join": {"conversation_id": Field(str, required=True, pattern=_CONV_ID)},
    "leave": {"conversation_id": Field(str, required=True, pattern=_CONV_ID)},
    "take_over": {
        "conversation_id": Field(str, required=True, pattern=_CONV_ID),
        "from_agent_id": Field(str, required=True, pattern=_AGENT_ID),
        "to_agent_id": Field(str, pattern=_AGENT_ID),
        "department": Field(str, max_len=40, strip=True),
    },
    "ping": {},
}

# The supervisors' dashboard socket (/ws/dashboard): choose what to watch, keep alive.
DASHBOARD_FRAMES: Final[dict[str, dict[str, Field]]] = {
    "watch": {"department": Field(str, max_len=40)},
    "ping": {},
}

_PAGE_FIELDS: Final = {"url": 2048, "title": 300, "referrer": 2048}


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", dict: "an object", int: "a number"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


class Codec:
    """Decodes and validates frames for one endpoint.

    ``schemas`` maps frame type to its fields. Raises :class:`ProtocolError` with the frame's
    ``client_id`` as ``ref`` when it has one, so the client knows which send failed.
    """

    def __init__(
        self,
        schemas: Mapping[str, Mapping[str, Field]],
        max_frame_bytes: int = 16 * 1024,
        max_message_length: int = _TEXT_MAX,
    ) -> None:
        self.schemas = schemas
        self.max_frame_bytes = max_frame_bytes
        self.max_message_length = max_message_length

    def decode(self, data: str | bytes) -> dict[str, Any]:
        size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
        if size > self.max_frame_bytes:
            raise ProtocolError(
                "too_large", f"frame is {size} bytes; the limit is {self.max_frame_bytes}"
            )
        try:
            obj = orjson.loads(data) if isinstance(data, str) else _loads_binary(data)
        except (
            orjson.JSONDecodeError,
            ValueError,
            msgpack.ExtraData,
            msgpack.FormatError,
            msgpack.StackError,
            TypeError,
            UnicodeDecodeError,
        ):
            raise ProtocolError("bad_frame", "frame is not valid JSON or msgpack") from None
        if not isinstance(obj, dict):
            raise ProtocolError("bad_frame", "frame must be an object with a type")
        return self.validate(obj)

    def validate(self, obj: dict[str, Any]) -> dict[str, Any]:
        ftype = obj.get("type")
        ref = obj.get("client_id") if isinstance(obj.get("client_id"), str) else None
        if ref is not None and not _CLIENT_ID.match(ref):
            ref = None
        if not isinstance(ftype, str) or ftype not in self.schemas:
            shown = ftype if isinstance(ftype, str) and len(ftype) <= 40 else None
            raise ProtocolError(
                "unknown_type",
                f"unknown frame type {shown!r}" if shown else "frame needs a known type",
                ref=ref,
            )
        schema = self.schemas[ftype]
        out: dict[str, Any] = {"type": ftype}
        for key, value in obj.items():
            if key == "type":
                continue
            spec = schema.get(key) if isinstance(key, str) else None
            if spec is None:
                raise ProtocolError(
                    "invalid_field",
                    f"unknown field {str(key)[:40]!r} in {ftype}",
                    field=str(key)[:40],
                    ref=ref,
                )
            out[key] = self._check(ftype, key, value, spec, ref)
        for key, spec in schema.items():
            if spec.required and key not in out:
                raise ProtocolError("invalid_field", f"{ftype} needs {key}", field=key, ref=ref)
        if ftype == "message":
            message_parts(out)  # text, a file, or both
        return out

    def _check(self, ftype: str, key: str, value: Any, spec: Field, ref: str | None) -> Any:
        # bool is an int subclass in Python; keep the two apart.
        if not isinstance(value, spec.kind) or (spec.kind is not bool and isinstance(value, bool)):
            raise ProtocolError(
                "invalid_field", f"{key} must be {_type_name(spec.kind)}", field=key, ref=ref
            )
        if isinstance(value, str):
            if spec.strip:
                value = value.strip()
            if "\x00" in value:
                raise ProtocolError(
                    "invalid_field", f"{key} must not contain NUL", field=key, ref=ref
                )
            max_len = self.max_message_length if key == "text" else spec.max_len
            if len(value) < spec.min_len or (max_len is not None and len(value) > max_len):
                lo = spec.min_len
                raise ProtocolError(
                    "invalid_field", f"{key} must be {lo}-{max_len} characters", field=key, ref=ref
                )
            if spec.pattern is not None and not spec.pattern.match(value):
                raise ProtocolError(
                    "invalid_field", f"{key} has an invalid format", field=key, ref=ref
                )
            if spec.choices is not None and value not in spec.choices:
                allowed = ", ".join(sorted(spec.choices))
                raise ProtocolError(
                    "invalid_field", f"{key} must be one of {allowed}", field=key, ref=ref
                )
        if isinstance(value, int) and (
            (spec.lowest is not None and value < spec.lowest)
            or (spec.highest is not None and value > spec.highest)
        ):
            raise ProtocolError(
                "invalid_field", f"{key} must be {spec.lowest}-{spec.highest}", field=key, ref=ref
            )
        if isinstance(value, dict):
            if key in ("page",):
                return _check_page(value, ref)
            if key == "cursors":
                return _check_cursors(value, ref)
        return value


def _check_page(value: dict[Any, Any], ref: str | None) -> dict[str, str]:
    page: dict[str, str] = {}
    for k, v in value.items():
        limit = _PAGE_FIELDS.get(k) if isinstance(k, str) else None
        if limit is None:
            raise ProtocolError(
                "invalid_field", "page takes url, title and referrer", field="page", ref=ref
            )
        if not isinstance(v, str) or len(v) > limit:
            raise ProtocolError(
                "invalid_field",
                f"page.{k} must be a string of at most {limit}",
                field="page",
                ref=ref,
            )
        page[k] = v
    return page


def _check_cursors(value: dict[Any, Any], ref: str | None) -> dict[str, str]:
    if len(value) > 200:
        raise ProtocolError("invalid_field", "at most 200 cursors", field="cursors", ref=ref)
    for k, v in value.items():
        if not (
            isinstance(k, str) and _CONV_ID.match(k) and isinstance(v, str) and _STREAM_ID.match(v)
        ):
            raise ProtocolError(
                "invalid_field",
                "cursors maps conversation ids to message ids",
                field="cursors",
                ref=ref,
            )
    return dict(value)


def _loads_binary(data: bytes) -> Any:
    # strict_map_key keeps keys to str/bytes; unpackb bounds every length by the frame's size,
    # so a hostile frame cannot allocate far more than it sent.
    return msgpack.unpackb(data, raw=False, strict_map_key=True)


class OutFrame:
    """A server frame encoded at most once per wire format, however many receive it."""

    __slots__ = ("_json", "_msgpack", "data")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._json: str | None = None
        self._msgpack: bytes | None = None

    def encoded(self, fmt: str) -> str | bytes:
        if fmt == MSGPACK:
            if self._msgpack is None:
                self._msgpack = msgpack.packb(self.data, use_bin_type=True)
            return self._msgpack
        if self._json is None:
            self._json = orjson.dumps(self.data).decode("utf-8")
        return self._json


ZERO_ID: Final = "0-0"
