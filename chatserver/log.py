"""structlog set-up: JSON lines in production, readable lines in development."""

from __future__ import annotations

import logging
import re
import sys
import threading
import types
from typing import TextIO

import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}

# Warnings and errors this process logged, by level (exposed by /metrics).
LOG_EVENTS: dict[str, int] = {}


def _count(
    _logger: object, method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    if method in ("warning", "error", "critical", "exception"):
        level = "error" if method == "exception" else method
        LOG_EVENTS[level] = LOG_EVENTS.get(level, 0) + 1
    return event


def _shared(json: bool) -> list[structlog.types.Processor]:
    """The processors every event goes through, structlog's own and the libraries'."""
    return [
        structlog.contextvars.merge_contextvars,
        _count,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if json else structlog.processors.StackInfoRenderer(),
    ]


def _renderer(json: bool) -> structlog.types.Processor:
    if json:
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())


def configure_logging(level: str = "info", json: bool = False) -> None:
    """Configure structlog once per process, and send every stdlib logger's records (uvicorn,
    websockets, asyncio, redis, warnings) through the same renderer: in production the
    process writes nothing but JSON lines, so an operator can parse the whole log."""
    numeric = _LEVELS.get(level, logging.ERROR)
    structlog.configure(
        processors=[*_shared(json), _renderer(json)],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, LibrarySink)]:
        root.removeHandler(old)
    root.addHandler(LibrarySink(sys.stderr, numeric, json))
    # Libraries' own debug output (redis, asyncio) is noise even at "debug".
    root.setLevel(max(numeric, logging.INFO))
    logging.captureWarnings(True)
    if json:
        # A crash must not end the log with a bare traceback either.
        sys.excepthook = _log_uncaught
        threading.excepthook = lambda a: _log_uncaught(a.exc_type, a.exc_value, a.exc_traceback)


def _log_uncaught(
    kind: type[BaseException], exc: BaseException | None, tb: types.TracebackType | None
) -> None:
    log = get_logger("chatserver")
    if issubclass(kind, KeyboardInterrupt):  # Ctrl-C, which uvicorn re-raises after serving
        log.info("interrupted")
    else:
        log.critical("uncaught_exception", exc_info=(kind, exc, tb))


# What uvicorn and websockets log for every socket at info: the handshake's outcome and the
# connection opening and closing. 10,000 sockets must not write 10,000 lines (uvicorn's HTTP
# access log is off for the same reason), so these are debug lines.
_PER_SOCKET = re.compile(r'^(%s - "WebSocket %s" |connection (open|closed|rejected)|HTTP response)')


_BAD_UTF8 = "Invalid UTF-8 sequence received"


class LibrarySink(logging.StreamHandler[TextIO]):
    """The root logger's one handler: library records rendered like structlog's own, no
    token from a URL, and uvicorn's per-socket lines at debug."""

    def __init__(self, stream: TextIO, level: int, json: bool) -> None:
        super().__init__(stream)
        self.threshold = level
        self.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=[structlog.stdlib.add_logger_name, *_shared(json)],
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    _renderer(json),
                ],
            )
        )
        self.addFilter(RedactSecrets())

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno == logging.INFO
            and record.name == "uvicorn.error"
            and _PER_SOCKET.match(str(record.msg))
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        elif record.name == "uvicorn.error" and str(record.msg).startswith(_BAD_UTF8):
            # A client's bad bytes (the socket is closed with 1007), not a server fault: no
            # traceback, and no line at info that a client could make by the thousand.
            record.levelno, record.levelname, record.exc_info = logging.DEBUG, "DEBUG", None
        return record.levelno >= self.threshold and bool(super().filter(record))


# A session token in a query string (`/ws/agent?token=...`), which uvicorn logs when it
# accepts a socket: the log must never hold one.
_SECRET_PARAM = re.compile(r"((?:^|[?&;\s])(?:token|access_token|password)=)[^&\s\"']+", re.I)


class RedactSecrets(logging.Filter):
    """Rewrites library log records so that no token from a URL reaches the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_PARAM.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
