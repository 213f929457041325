"""The logging state of jwtwarden's loggers, for the guard in tests/conftest.py.

The suite reads jwtwarden's log records through pytest's ``caplog``, whose handler sits on the
root logger: a test (or the code it runs) that leaves a ``jwtwarden`` logger not propagating,
disabled, at a higher level or with a handler of its own (``logging.config.dictConfig`` does all
of that) silently empties ``caplog`` for every later test. The guard compares this state before
and after each test and fails the test that changed it, naming what changed.
"""

from __future__ import annotations

import logging

__all__ = ["LoggerState", "changes", "logging_state", "restore"]

LoggerState = tuple[int, bool, bool, tuple[logging.Handler, ...]]
_DEFAULT: LoggerState = (logging.NOTSET, True, False, ())
_ROOTS = ("jwtwarden",)


def _watched(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in _ROOTS)


def logging_state() -> dict[str, object]:
    """The global disable level, and (level, propagate, disabled, handlers) per jwtwarden logger
    that exists (handlers compare by identity)."""
    state: dict[str, object] = {"logging.disable": logging.root.manager.disable}
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and _watched(name):
            state[name] = (logger.level, logger.propagate, logger.disabled, tuple(logger.handlers))
    return state


def changes(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """What differs, one sentence per logger; a logger created meanwhile is compared with a new
    logger's defaults (a module imported by the test creates its logger: not a change)."""
    found = []
    for name, now in sorted(after.items()):
        was = before.get(name, _DEFAULT if name != "logging.disable" else 0)
        if now != was:
            found.append(f"{name}: {_describe(was)} -> {_describe(now)}")
    return found


def _describe(value: object) -> str:
    if isinstance(value, tuple):
        level, propagate, disabled, handlers = value
        return (
            f"level={logging.getLevelName(level)} propagate={propagate} disabled={disabled} "
            f"handlers={len(handlers)}"
        )
    return repr(value)


def restore(before: dict[str, object]) -> None:
    """Put every jwtwarden logger back as ``before`` recorded it (a logger created since then:
    to a new logger's defaults), so that only the test that changed the state fails, not every
    test after it."""
    disable = before.get("logging.disable", 0)
    logging.disable(disable if isinstance(disable, int) else 0)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and _watched(name):
            was = before.get(name, _DEFAULT)
            assert isinstance(was, tuple)
            level, propagate, disabled, handlers = was
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled
            logger.handlers[:] = list(handlers)
