from __future__ import annotations

import json

import msgpack
import pytest

from chatserver.core.follow import parse_id
from chatserver.protocol import (
    AGENT_FRAMES,
    VISITOR_FRAMES,
    Codec,
    OutFrame,
    ProtocolError,
)

V = Codec(VISITOR_FRAMES, max_frame_bytes=1024, max_message_length=50)
A = Codec(AGENT_FRAMES)


def code_of(codec: Codec, data: str | bytes) -> str:
    with pytest.raises(ProtocolError) as info:
        codec.decode(data)
    return info.value.code


def test_valid_message_is_stripped() -> None:
    f = V.decode(json.dumps({"type": "message", "client_id": "m1", "text": "  سلام  "}))
    assert f == {"type": "message", "client_id": "m1", "text": "سلام"}


def test_msgpack_frames_decode() -> None:
    f = V.decode(msgpack.packb({"type": "typing", "state": True}))
    assert f == {"type": "typing", "state": True}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("{not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        (b"\xc1", "bad_frame"),
        ('"text"', "bad_frame"),
        ('{"type": "teleport"}', "unknown_type"),
        ("{}", "unknown_type"),
        ('{"type": 5}', "unknown_type"),
        ('{"type": "message", "client_id": "m1"}', "invalid_field"),
        ('{"type": "message", "client_id": "m1", "text": ""}', "invalid_field"),
        ('{"type": "message", "client_id": "m1", "text": "   "}', "invalid_field"),
        ('{"type": "message", "client_id": "m1", "text": 5}', "invalid_field"),
        ('{"type": "message", "client_id": "bad id!", "text": "x"}', "invalid_field"),
        ('{"type": "message", "client_id": "m1", "text": "x", "html": "<b>"}', "invalid_field"),
        ('{"type": "typing", "state": 1}', "invalid_field"),
        ('{"type": "sync", "conversation_id": "c_1", "after": "abc"}', "invalid_field"),
        ('{"type": "read", "conversation_id": "x", "id": "1-0"}', "invalid_field"),
        ('{"type": "hello", "page": {"url": 5}}', "invalid_field"),
        ('{"type": "hello", "page": {"evil": "x"}}', "invalid_field"),
        ('{"type": "message", "client_id": "m1", "text": "a\\u0000b"}', "invalid_field"),
    ],
)
def test_malformed_frames_get_their_code(data: str | bytes, code: str) -> None:
    assert code_of(V, data) == code


def test_oversized_text_and_frame() -> None:
    long_text = json.dumps({"type": "message", "client_id": "m1", "text": "x" * 51})
    assert code_of(V, long_text) == "invalid_field"
    assert code_of(V, "x" * 2000) == "too_large"


def test_error_carries_client_id_as_ref() -> None:
    with pytest.raises(ProtocolError) as info:
        V.decode(json.dumps({"type": "message", "client_id": "m9", "text": ""}))
    frame = info.value.frame()
    assert frame["ref"] == "m9" and frame["field"] == "text" and frame["type"] == "error"


def test_agent_frames_need_conversation() -> None:
    assert code_of(A, '{"type": "message", "client_id": "m1", "text": "x"}') == "invalid_field"
    assert code_of(A, '{"type": "status", "status": "asleep"}') == "invalid_field"
    assert code_of(A, '{"type": "hello", "cursors": {"c_1": "nope"}}') == "invalid_field"
    f = A.decode('{"type": "hello", "cursors": {"c_1": "5-0"}, "status": "away"}')
    assert f["cursors"] == {"c_1": "5-0"}


def test_outframe_encodes_once_per_format() -> None:
    frame = OutFrame({"type": "pong", "server_time": 1})
    assert frame.encoded("json") is frame.encoded("json")
    assert msgpack.unpackb(frame.encoded("msgpack")) == {"type": "pong", "server_time": 1}


def test_stream_ids_compare_numerically() -> None:
    assert parse_id("10-0") > parse_id("9-5")
    assert parse_id("5-10") > parse_id("5-9")
