"""The handler every stdlib logger (uvicorn, websockets, asyncio, …) writes through: JSON in
production, readable in development, per-socket lines at debug, no token from a URL.

The handler is tested on its own, so the process's logging set-up is left alone.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from typing import Any

from chatserver.log import LibrarySink


def emit(sink: LibrarySink, name: str, level: int, msg: str, *args: Any, **kw: Any) -> list[str]:
    logger = logging.getLogger(name)
    record = logger.makeRecord(name, level, __file__, 1, msg, args, kw.get("exc_info"))
    sink.handle(record)
    stream = sink.stream
    assert isinstance(stream, io.StringIO)
    return stream.getvalue().splitlines()


def sink(level: int = logging.INFO, json: bool = True) -> LibrarySink:
    return LibrarySink(io.StringIO(), level, json)


ACCEPTED = '%s - "WebSocket %s" [accepted]'


def test_library_records_are_json_lines() -> None:
    out = emit(sink(), "uvicorn.error", logging.INFO, "Started server process [%d]", 42)
    assert [json.loads(line) for line in out] == [
        {
            "event": "Started server process [42]",
            "logger": "uvicorn.error",
            "level": "info",
            "timestamp": json.loads(out[0])["timestamp"],
        }
    ]


def test_an_exception_is_one_json_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        exc_info = sys.exc_info()
    out = emit(sink(), "asyncio", logging.ERROR, "Task exception", exc_info=exc_info)
    assert len(out) == 1
    rec = json.loads(out[0])
    assert rec["level"] == "error" and rec["logger"] == "asyncio"
    assert "RuntimeError: boom" in rec["exception"]


def test_per_socket_lines_are_debug() -> None:
    info = sink(logging.INFO)
    for msg, args in [
        (ACCEPTED, ("127.0.0.1:5000", "/ws/visitor?site=demo")),
        ("connection open", ()),
        ('%s - "WebSocket %s" 403', ("127.0.0.1:5000", "/ws/nope")),
        ("connection rejected (%d %s)", (403, "Forbidden")),
        ("connection closed", ()),
    ]:
        emit(info, "uvicorn.error", logging.INFO, msg, *args)
    out = emit(info, "uvicorn.error", logging.WARNING, "Invalid HTTP request received.")
    assert [json.loads(line)["event"] for line in out] == ["Invalid HTTP request received."]

    debug = sink(logging.DEBUG)
    out = emit(debug, "uvicorn.error", logging.INFO, ACCEPTED, "ip", "/ws/agent?token=s3cret")
    rec = json.loads(out[0])
    assert rec["level"] == "debug"
    assert rec["event"] == 'ip - "WebSocket /ws/agent?token=***" [accepted]'


def test_development_lines_are_readable() -> None:
    out = emit(sink(json=False), "uvicorn.error", logging.INFO, "Application startup complete.")
    assert len(out) == 1 and "Application startup complete." in out[0]
    assert not out[0].startswith("{")
