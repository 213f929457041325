"""Revocation of access tokens: the ``jti``/``sid`` denylist and the auth-version check,
both usable as ``VerificationPolicy(checks=...)`` hooks."""

from __future__ import annotations

from ..stores.memory import MemoryDenylist
from .checks import AUTH_VERSION_CLAIM, AuthVersionCheck, DenylistCheck
from .denylist import Denylist, SyncDenylist

__all__ = [
    "AUTH_VERSION_CLAIM",
    "AuthVersionCheck",
    "Denylist",
    "DenylistCheck",
    "MemoryDenylist",
    "SyncDenylist",
]
