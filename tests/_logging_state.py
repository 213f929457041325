"""The logging state of jwtwarden's loggers, for the guard in tests/conftest.py.

The suite reads jwtwarden's log records through pytest's ``caplog``, whose handler sits on the
root logger: a test (or the code it runs) that leaves a ``jwtwarden`` logger not propagating,
disabled, at a higher level or with a handler of its own (``logging.config.dictConfig`` does all
of that) silently empties ``caplog`` for every later test. The guard compares this state before
and after each test and fails the test that changed it, naming what changed.
"""

from __future__ import annotations

import logging

__all__ = ["LoggerState", "changes", "logging_state"]

LoggerState = tuple[int, bool, bool, tuple[int, ...]]
_DEFAULT: LoggerState = (logging.NOTSET, True, False, ())
_ROOTS = ("jwtwarden",)


def _watched(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in _ROOTS)


def logging_state() -> dict[str, object]:
    """The global disable level, and (level, propagate, disabled, handler ids) per jwtwarden
    logger that exists."""
    state: dict[str, object] = {"logging.disable": logging.root.manager.disable}
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and _watched(name):
            handlers = tuple(id(h) for h in logger.handlers)
            state[name] = (logger.level, logger.propagate, logger.disabled, handlers)
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
