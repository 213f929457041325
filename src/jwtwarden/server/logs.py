"""Structured logs: one JSON object per line through ``logging``.

Only whitelisted fields of a record's ``extra`` are written, so a careless ``extra`` cannot
leak a token; exceptions are written as their type name, never a traceback (tracebacks can
quote locals and SQL parameters).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

__all__ = ["FIELDS", "JSONFormatter", "configure_logging", "logging_config"]

FIELDS = (
    "event",
    "sid",
    "user",
    "error",
    "status",
    "method",
    "path",
    "client",
    "duration_ms",
    "reason",
    "count",
    "kid",
    "mode",
)


class JSONFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...whitelisted extras}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                out[name] = value if isinstance(value, int | float | bool) else str(value)[:200]
        if record.exc_info and record.exc_info[0] is not None:
            out["exception"] = record.exc_info[0].__name__
        return json.dumps(out, ensure_ascii=False)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for jwtwarden and uvicorn, JSON lines on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JSONFormatter}},
        "handlers": {"stderr": handler},
        "loggers": {
            "jwtwarden": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    """Install the JSON configuration."""
    import logging.config

    logging.config.dictConfig(logging_config(level))
