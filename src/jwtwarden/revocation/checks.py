"""Revocation checks as verifier hooks: ``VerificationPolicy(checks=(...))``.

Both run after the signature and every claim have verified, on every request (and on every
hit of the verified-token cache):

- ``DenylistCheck(denylist)``: refuses a token whose ``jti`` or ``sid`` is denied.
- ``AuthVersionCheck(lookup)``: refuses a token whose ``auth_version`` claim is not the
  user's current auth version (bumped on password change, account disabled). The claim is
  named ``auth_version`` (not ``ver``: Microsoft's tokens use ``ver`` for the token format).

Each is synchronous when its backend is (a ``SyncDenylist``, a plain function) and returns a
coroutine otherwise, which needs ``Verifier.verify_async``. A backend failure is refused with
``RevocationUnavailableError`` (HTTP 503), never a silent pass, unless ``fail_open=True``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import (
    InvalidClaimError,
    MissingClaimError,
    RevocationUnavailableError,
    RevokedTokenError,
)
from .denylist import Denylist, SyncDenylist

if TYPE_CHECKING:
    from ..verify import VerifiedToken

__all__ = ["AUTH_VERSION_CLAIM", "AuthVersionCheck", "DenylistCheck"]

AUTH_VERSION_CLAIM = "auth_version"
_log = logging.getLogger("jwtwarden.revocation")


def _str_claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if type(value) is str and value else None


class DenylistCheck:
    """Refuse tokens whose ``jti`` or ``sid`` is on the denylist.

    Parameters:
        denylist: a ``SyncDenylist`` (checked synchronously) or an async ``Denylist``.
        fail_open: when the backend cannot answer, let the token through (logged) instead of
            refusing it with ``RevocationUnavailableError``. Off by default.

    Example:
        >>> check = DenylistCheck(MemoryDenylist())  # doctest: +SKIP
        >>> policy = VerificationPolicy.access_token(..., checks=(check,))  # doctest: +SKIP
    """

    __slots__ = ("_async", "_sync", "fail_open", "unavailable")

    def __init__(self, denylist: Denylist | SyncDenylist, *, fail_open: bool = False) -> None:
        self._sync = denylist.contains if isinstance(denylist, SyncDenylist) else None
        self._async = denylist.is_denied if isinstance(denylist, Denylist) else None
        if self._sync is None and self._async is None:
            raise TypeError("DenylistCheck needs a Denylist or a SyncDenylist")
        self.fail_open = bool(fail_open)
        self.unavailable = 0  # how many checks could not be answered (for metrics)

    def __call__(self, token: VerifiedToken) -> Awaitable[None] | None:
        jti = _str_claim(token.claims, "jti")
        sid = _str_claim(token.claims, "sid")
        if self._sync is not None:
            try:
                denied = self._sync(jti=jti, sid=sid)
            except Exception as exc:
                self._unavailable(exc)
                return None
            if denied:
                _refuse()
            return None
        assert self._async is not None
        return self._acheck(self._async(jti=jti, sid=sid))

    async def _acheck(self, pending: Awaitable[bool]) -> None:
        try:
            denied = await pending
        except Exception as exc:
            self._unavailable(exc)
            return
        if denied:
            _refuse()

    def _unavailable(self, exc: Exception) -> None:
        self.unavailable += 1
        if self.fail_open:
            _log.warning(
                "denylist unavailable (%s); fail_open lets the token through", type(exc).__name__
            )
            return None
        if isinstance(exc, RevocationUnavailableError):
            raise exc
        raise RevocationUnavailableError(
            f"the denylist could not answer ({type(exc).__name__}); refusing"
        ) from None

    def __repr__(self) -> str:
        return f"DenylistCheck(fail_open={self.fail_open})"


def _refuse() -> None:
    raise RevokedTokenError("the token has been revoked")


class AuthVersionCheck:
    """Refuse tokens whose ``auth_version`` is not the subject's current one.

    Parameters:
        lookup: ``sub -> int | None`` (or a coroutine function): the current auth version of
            an enabled account, ``None`` for an unknown or disabled one (refused).
        claim: the claim name (default ``auth_version``).

    A token without the claim is refused (``missing_claim``): a policy with this check only
    accepts tokens from an issuer that sets it.

    Example:
        >>> check = AuthVersionCheck(users.auth_version)  # doctest: +SKIP
    """

    __slots__ = ("_is_async", "_lookup", "claim")

    def __init__(
        self,
        lookup: Callable[[str], int | None] | Callable[[str], Awaitable[int | None]],
        *,
        claim: str = AUTH_VERSION_CLAIM,
    ) -> None:
        if not callable(lookup):
            raise TypeError("lookup must be a function of the subject")
        self._lookup = lookup
        self._is_async = inspect.iscoroutinefunction(lookup)
        self.claim = claim

    def _expected(self, token: VerifiedToken) -> tuple[str, int]:
        claims = token.claims
        # "in", not get(): a null auth version is a wrong type, not a missing claim.
        if self.claim not in claims:
            raise MissingClaimError(
                f"the token has no {self.claim!r}", claim=self.claim, reason="missing"
            )
        value = claims[self.claim]
        if type(value) is not int:
            raise InvalidClaimError(
                f"{self.claim!r} must be an integer", claim=self.claim, reason="not_an_integer"
            )
        return str(claims.get("sub")), value

    def __call__(self, token: VerifiedToken) -> Awaitable[None] | None:
        sub, version = self._expected(token)
        if self._is_async:
            return self._acheck(sub, version)
        current = self._lookup(sub)
        if inspect.isawaitable(current):
            return self._await_current(current, version)
        _compare(current, version)
        return None

    async def _acheck(self, sub: str, version: int) -> None:
        _compare(await self._lookup(sub), version)  # type: ignore[misc]

    async def _await_current(self, current: Awaitable[int | None], version: int) -> None:
        _compare(await current, version)

    def __repr__(self) -> str:
        return f"AuthVersionCheck(claim={self.claim!r})"


def _compare(current: int | None, version: int) -> None:
    if current is None or current != version:
        raise RevokedTokenError("the account's credentials changed since the token was issued")
