"""Password hashing: argon2id through ``argon2-cffi``, never below OWASP's minimum.

OWASP's Password Storage Cheat Sheet lists equivalent argon2id configurations (memory in MiB,
iterations): (46, 1), (19, 2), (12, 3), (9, 4), (7, 5), all with one lane. Parameters weaker
than every one of them are refused when the hasher is built.

Unknown accounts are answered after verifying the password against a *dummy* hash made with
the same parameters, so a login for a missing email costs the same work and gets the same
answer as a wrong password (user enumeration by timing, OWASP ASVS 2.2.x).
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import PasswordPolicyError

__all__ = ["OWASP_MINIMUM", "PasswordHasher", "PasswordParameters"]

T = TypeVar("T")

# (memory KiB, time cost) pairs from the OWASP cheat sheet, p = 1.
_OWASP_CONFIGURATIONS = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))


@dataclass(frozen=True, kw_only=True, slots=True)
class PasswordParameters:
    """argon2id cost parameters. The defaults are OWASP's m=19 MiB, t=2, p=1.

    Raises:
        ValueError: weaker than every OWASP configuration, or out of range.
    """

    memory_kib: int = 19456
    time_cost: int = 2
    parallelism: int = 1
    hash_len: int = 32
    salt_len: int = 16

    def __post_init__(self) -> None:
        if not any(self.memory_kib >= m and self.time_cost >= t for m, t in _OWASP_CONFIGURATIONS):
            raise ValueError(
                "argon2id parameters below OWASP's minimum (e.g. memory_kib >= 19456 with "
                f"time_cost >= 2); got memory_kib={self.memory_kib}, time_cost={self.time_cost}"
            )
        if not 1 <= self.parallelism <= 16:
            raise ValueError("parallelism must be between 1 and 16")
        if self.hash_len < 16 or self.salt_len < 16:
            raise ValueError("hash_len and salt_len must be at least 16 bytes")


OWASP_MINIMUM = PasswordParameters()


class PasswordHasher:
    """Hash and verify passwords with argon2id; check the password policy.

    ``verify`` and ``verify_dummy`` run the same argon2 computation; the ``a``-prefixed
    variants run it in a worker thread (argon2-cffi releases the GIL), so the event loop keeps
    serving while a hash is computed. Those threads are a small pool shared by every hasher of
    the process (``threads``, default one per core): each hash works through 19 MiB, and more
    hashes at once than cores only evict each other from the caches, so asyncio's default
    executor (up to cores + 4 threads) measured a third more CPU per login than the hash
    alone (docs/benchmarks-server.md).

    Example:
        >>> hasher = PasswordHasher()
        >>> h = hasher.hash("correct horse battery staple")
        >>> hasher.verify(h, "correct horse battery staple")
        True
    """

    __slots__ = ("_argon2", "_dummy", "_executor", "max_length", "min_length", "parameters")

    def __init__(
        self,
        parameters: PasswordParameters = OWASP_MINIMUM,
        *,
        min_length: int = 8,
        max_length: int = 1024,
        threads: int | None = None,
    ) -> None:
        if not isinstance(parameters, PasswordParameters):
            raise TypeError("parameters must be a PasswordParameters")
        if threads is not None and not 1 <= threads <= 64:
            raise ValueError("threads must be between 1 and 64")
        # NIST SP 800-63B 5.1.1.2: at least 8 characters, allow at least 64.
        if min_length < 8 or max_length < 64 or max_length < min_length:
            raise ValueError("min_length must be at least 8 and max_length at least 64")
        self.parameters = parameters
        self.min_length = min_length
        self.max_length = max_length
        self._argon2 = _Argon2(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_kib,
            parallelism=parameters.parallelism,
            hash_len=parameters.hash_len,
            salt_len=parameters.salt_len,
            type=Type.ID,
        )
        # Same parameters as a real hash, for a password nobody knows.
        self._dummy = self._argon2.hash(secrets.token_urlsafe(32))
        self._executor = _executor(threads or os.cpu_count() or 1)

    def check_policy(self, password: str) -> None:
        """Raise ``PasswordPolicyError`` if ``password`` is too short, too long or blank."""
        if not isinstance(password, str):
            raise PasswordPolicyError("the password must be a string")
        length = len(unicodedata.normalize("NFC", password))
        if length < self.min_length:
            raise PasswordPolicyError(f"the password needs at least {self.min_length} characters")
        if length > self.max_length:
            raise PasswordPolicyError(f"the password has more than {self.max_length} characters")
        if not password.strip():
            raise PasswordPolicyError("the password cannot be only whitespace")

    def hash(self, password: str) -> str:
        """The argon2id hash (PHC string) of ``password``, after the policy check."""
        self.check_policy(password)
        return self._argon2.hash(_normalise(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; ``False`` (never an exception) for a malformed hash
        or a password outside the length bounds (checked after the same hashing work)."""
        candidate = _normalise(password) if isinstance(password, str) else ""
        too_long = len(candidate) > self.max_length
        try:
            ok = bool(self._argon2.verify(password_hash, candidate[: self.max_length]))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        return ok and not too_long

    def verify_dummy(self, password: str) -> bool:
        """The work of ``verify`` against a hash nobody knows the password of; ``False``."""
        self.verify(self._dummy, password)
        return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than this hasher's."""
        try:
            return bool(self._argon2.check_needs_rehash(password_hash))
        except (InvalidHashError, ValueError):
            return True

    async def ahash(self, password: str) -> str:
        """``hash`` in a worker thread."""
        return await self._in_thread(self.hash, password)

    async def averify(self, password_hash: str, password: str) -> bool:
        """``verify`` in a worker thread."""
        return await self._in_thread(self.verify, password_hash, password)

    async def averify_dummy(self, password: str) -> bool:
        """``verify_dummy`` in a worker thread."""
        return await self._in_thread(self.verify_dummy, password)

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def __repr__(self) -> str:
        p = self.parameters
        return f"PasswordHasher(argon2id m={p.memory_kib} KiB t={p.time_cost} p={p.parallelism})"


_EXECUTORS: dict[int, ThreadPoolExecutor] = {}
_EXECUTORS_LOCK = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    """The process's argon2 pool of ``threads`` threads (idle threads cost nothing)."""
    with _EXECUTORS_LOCK:
        pool = _EXECUTORS.get(threads)
        if pool is None:
            pool = _EXECUTORS[threads] = ThreadPoolExecutor(
                max_workers=threads, thread_name_prefix="jwtwarden-argon2"
            )
        return pool


def _normalise(password: str) -> str:
    # NIST SP 800-63B 5.1.1.2: normalise Unicode so the same password typed on two keyboards
    # (composed or decomposed accents) hashes the same.
    return unicodedata.normalize("NFC", password)
