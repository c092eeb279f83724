"""Property-based fuzz of the wire codec: whatever arrives, decode either returns a frame that
matches its schema or raises a ProtocolError with a documented code; it never raises anything
else, and what it lets through is what the handlers expect."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatserver.protocol import AGENT_FRAMES, VISITOR_FRAMES, Codec, Field, ProtocolError
from tests.protocol_doc import documented_error_codes

CODECS = {
    "visitor": Codec(VISITOR_FRAMES, 16 * 1024, 4000),
    "agent": Codec(AGENT_FRAMES, 16 * 1024, 4000),
}
CODES = documented_error_codes()
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
all_types = sorted({*VISITOR_FRAMES, *AGENT_FRAMES, "dance", "", "HELLO"})
field_names = sorted(
    {name for schemas in (VISITOR_FRAMES, AGENT_FRAMES) for s in schemas.values() for name in s}
    | {"extra", "__proto__", "type"}
)


@st.composite
def frame_like(draw: st.DrawFn) -> dict[str, Any]:
    """Objects that look like frames: a real or bogus type and real or bogus fields."""
    obj: dict[str, Any] = {}
    if draw(st.integers(0, 9)):  # now and then no type at all
        obj["type"] = draw(st.sampled_from(all_types) | json_values)
    for name in draw(st.lists(st.sampled_from(field_names), max_size=5)):
        obj[name] = draw(json_values)
    return obj


def decode_or_error(codec: Codec, data: str | bytes) -> dict[str, Any] | ProtocolError:
    try:
        return codec.decode(data)
    except ProtocolError as exc:
        return exc


def check_outcome(codec: Codec, out: dict[str, Any] | ProtocolError) -> None:
    if isinstance(out, ProtocolError):
        assert out.code in CODES, out.code
        frame = out.frame()
        assert frame["type"] == "error" and isinstance(frame["message"], str)
        orjson.dumps(frame)  # always encodable
        if out.ref is not None:
            assert isinstance(out.ref, str) and len(out.ref) <= 64
        return
    schema = codec.schemas[out["type"]]
    for key, value in out.items():
        if key == "type":
            continue
        spec: Field = schema[key]
        assert isinstance(value, spec.kind)
        if isinstance(value, str):
            limit = codec.max_message_length if key == "text" else spec.max_len
            assert limit is None or len(value) <= limit
            assert "\x00" not in value
    for key, spec in schema.items():
        assert not spec.required or key in out


@FUZZ
@given(st.sampled_from(sorted(CODECS)), st.binary(max_size=300))
def test_random_bytes(endpoint: str, data: bytes) -> None:
    codec = CODECS[endpoint]
    check_outcome(codec, decode_or_error(codec, data))


@FUZZ
@given(st.sampled_from(sorted(CODECS)), st.text(max_size=300))
def test_random_text(endpoint: str, data: str) -> None:
    codec = CODECS[endpoint]
    check_outcome(codec, decode_or_error(codec, data))


@FUZZ
@given(st.sampled_from(sorted(CODECS)), frame_like(), st.booleans())
def test_frame_like_objects_in_both_encodings(
    endpoint: str, obj: dict[str, Any], as_msgpack: bool
) -> None:
    codec = CODECS[endpoint]
    data: str | bytes = msgpack.packb(obj) if as_msgpack else json.dumps(obj)
    out = decode_or_error(codec, data)
    check_outcome(codec, out)
    # Decoding is deterministic and the encoding does not change the verdict.
    other = decode_or_error(codec, json.dumps(obj) if as_msgpack else msgpack.packb(obj))
    if isinstance(out, ProtocolError):
        assert isinstance(other, ProtocolError) and other.code == out.code
    else:
        assert other == out


@FUZZ
@given(st.sampled_from(sorted(CODECS)), json_values)
def test_any_json_value(endpoint: str, value: Any) -> None:
    codec = CODECS[endpoint]
    check_outcome(codec, decode_or_error(codec, json.dumps(value)))


@FUZZ
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=200))
def test_truncated_and_corrupted_msgpack(noise: bytes, cut: int) -> None:
    codec = CODECS["visitor"]
    good = msgpack.packb({"type": "message", "client_id": "m1", "text": "hello"})
    for data in (good[:cut], good + noise, noise + good, bytes(b ^ 0x5A for b in good)):
        check_outcome(codec, decode_or_error(codec, data))


def test_deep_nesting_and_huge_numbers_are_refused_cleanly() -> None:
    codec = CODECS["agent"]
    for data in (
        "[" * 5000 + "]" * 5000,
        '{"type": "hello", "cursors": ' + '{"a":' * 3000 + "1" + "}" * 3000 + "}",
        '{"type": "status", "status": 1e999}',
        '{"type": "claim", "conversation_id": 123456789012345678901234567890}',
        b"\x91" * 3000,  # msgpack arrays nested 3000 deep
        b"\xdd\xff\xff\xff\xff",  # an array claiming 4 billion items
        b"\xdb\xff\xff\xff\xff",  # a string claiming 4 GB
    ):
        check_outcome(codec, decode_or_error(codec, data))


def test_valid_frames_pass_unchanged() -> None:
    codec = CODECS["visitor"]
    frame = {"type": "message", "client_id": "m-1.a:b_c", "text": "  سلام  "}
    assert codec.decode(json.dumps(frame)) == {**frame, "text": "سلام"}
    assert codec.decode(msgpack.packb(frame)) == {**frame, "text": "سلام"}
