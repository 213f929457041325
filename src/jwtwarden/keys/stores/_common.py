"""Shared checks for the key stores."""

from __future__ import annotations

import re

from ...errors import KeyEnvironmentError
from ..records import KeyRecord

__all__ = ["check_environment_name", "check_record_environment"]

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
