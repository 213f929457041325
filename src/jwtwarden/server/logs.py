"""Structured logs: one JSON object per line through ``logging``.

Only whitelisted fields of a record's ``extra`` are written, so a careless ``extra`` cannot
leak a token; exceptions are written as their type name, never a traceback (tracebacks can
quote locals and SQL parameters).

Every string in a line (message, logger name, extras) is written with its invisible
characters as JSON ``\\uXXXX`` escapes: C0 and C1 controls (ESC, CSI ``\\x9b``), bidi
overrides and isolates (U+202A-202E, U+2066-2069), zero-width and other format characters
(category Cf), line and paragraph separators, surrogates, private-use and unassigned code
points. A client-chosen path or email then cannot forge a log line, hide text from the person
reading it, or reorder it on screen (Trojan Source, CVE-2021-42574); the line still parses to
the original value.
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
from typing import Any

__all__ = ["FIELDS", "JSONFormatter", "configure_logging", "escape_invisible", "logging_config"]

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


# Controls, format characters (bidi, zero-width, BOM), separators, surrogates, private use,
# unassigned: nothing a reader sees, or something a terminal or viewer acts on.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_NON_ASCII_OR_CONTROL = re.compile(r"[^\x20-\x7e]")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if unicodedata.category(char) not in _INVISIBLE:
        return char  # visible text (an accented name) stays readable
    code = ord(char)
    if code > 0xFFFF:  # RFC 8259 7: a character outside the BMP as a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def escape_invisible(line: str) -> str:
    """``line`` (JSON text) with every invisible character as a ``\\uXXXX`` escape.

    Only valid on JSON text: outside strings JSON is ASCII, so every match is inside a string,
    where the escape decodes back to the same character.
    """
    if line.isascii() and line.isprintable():
        return line
    return _NON_ASCII_OR_CONTROL.sub(_escape_char, line)


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
        return escape_invisible(json.dumps(out, ensure_ascii=False))


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
