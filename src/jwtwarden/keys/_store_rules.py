"""Shared checks for the key stores."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from ..errors import KeyEnvironmentError
from .records import KeyRecord

__all__ = ["check_environment_name", "check_record_environment", "reentrant"]

_ENVIRONMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_environment_name(environment: object) -> str:
    """Return a valid environment name; ``ValueError`` for anything else."""
    if not isinstance(environment, str) or not _ENVIRONMENT.fullmatch(environment):
        raise ValueError(
            "environment must be a name such as 'production', 'staging' or 'development' "
            "(letters, digits, '_', '.', '-'; at most 64)"
        )
    return environment


def check_record_environment(record: KeyRecord, environment: str) -> None:
    """Refuse a record whose key belongs to another environment (or records none)."""
    theirs = record.key.environment
    if theirs != environment:
        # A key of development or staging must never sign production tokens (and back).
        raise KeyEnvironmentError(
            f"key {record.kid[:64]!r} is recorded for environment {theirs!r}, "
            f"not {environment!r}; keys are never shared across environments"
        )


@contextlib.contextmanager
def reentrant(
    local: threading.local, acquire: Callable[[], AbstractContextManager[object]]
) -> Iterator[None]:
    """Enter ``acquire()`` once per thread; nested entries in that thread only count depth.

    A cross-process lock (``flock`` on a fresh descriptor, a PostgreSQL advisory lock on a
    second connection) would deadlock against itself if the same thread took it twice.
    """
    depth = getattr(local, "depth", 0)
    if depth:
        local.depth = depth + 1
        try:
            yield
        finally:
            local.depth -= 1
        return
    with acquire():
        local.depth = 1
        try:
            yield
        finally:
            local.depth = 0
