"""structlog set-up: JSON lines in production, readable lines in development."""

from __future__ import annotations

import logging
import re
import sys

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


def configure_logging(level: str = "info", json: bool = False) -> None:
    """Configure structlog once per process. Library loggers (uvicorn) go through the same sink."""
    numeric = _LEVELS.get(level, logging.ERROR)
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        _count,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if json else structlog.processors.StackInfoRenderer(),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=max(numeric, logging.INFO), stream=sys.stderr, format="%(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())


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
