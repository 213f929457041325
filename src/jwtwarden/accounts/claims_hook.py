"""The claims hook (``JWTWARDEN_CLAIMS_HOOK``): an application's callable that adds claims
(roles, an organisation) to each token the server mints, from the account and the client.

The hook is named by a dotted path (``package.module:function`` or ``package.module.function``)
and called with one ``ClaimsHookRequest``; it returns a JSON object of claims, synchronously or
as a coroutine. It is trusted code, but not trusted to be right, so it fails closed: a hook that
raises, overruns its deadline, returns something that is not a JSON object of claims, names a
registered claim, or returns claims the claim lint refuses makes the token *not* be issued
(``ClaimsHookError``, rendered as ``server_error``), never issued without the claims an API
expects. Personal data is warned about by the issuer's lint, as for any custom claim; the size
budget is the issuer's too (``TokenBudgetError`` is turned into ``ClaimsHookError`` by the
service, since the hook's claims are what made the token too big).

Deadline, and why a thread: a synchronous hook (the common case: a dictionary lookup, a query
through the application's own driver) runs in a small thread pool of its own and is awaited with
a deadline (``timeout``, 1 s by default), so a slow hook never blocks the event loop and never
takes the threads that argon2 and the key store use. Python cannot stop a thread, so a hung hook
keeps its worker; the pool is bounded (``max_workers``), so a hook that always hangs costs at
most that many threads, and every further call waits in the queue, passes its deadline and is
refused: bounded, and loud (each refusal is logged), rather than unbounded. A coroutine hook is
cancelled at its deadline.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..errors import ClaimsHookError
from ..lint import lint_claims
from ..sessions.ports import UserRecord
from ..token_profiles import RESERVED_CLAIMS

__all__ = [
    "HOOK_RESERVED_CLAIMS",
    "ClaimsHook",
    "ClaimsHookRequest",
    "ClaimsHookRunner",
    "load_hook",
]

_log = logging.getLogger("jwtwarden.accounts")

# RFC 7519 4.1 and the issuer's own (RESERVED_CLAIMS), RFC 9068 2.2 (client_id, scope, auth_time,
# acr, amr), RFC 8693 4.3/4.4 (act, may_act, cnf), OpenID Connect Core 2 (azp, at_hash, c_hash,
# sid) and the session's (auth_version): what the server sets and a verifier trusts it to have
# set. A hook naming one is refused, not silently overridden or dropped.
HOOK_RESERVED_CLAIMS = RESERVED_CLAIMS | frozenset(
    {
        "client_id",
        "scope",
        "auth_time",
        "acr",
        "amr",
        "azp",
        "at_hash",
        "c_hash",
        "sid",
        "auth_version",
        "cnf",
        "act",
        "may_act",
        "email",
        "email_verified",
    }
)
_MAX_CLAIMS_BYTES = 2048  # well inside the issuer's 4096-byte token budget, with the rest


@dataclass(frozen=True, kw_only=True, slots=True)
class ClaimsHookRequest:
    """What the hook is told about the token being minted.

    Parameters:
        token_type: the issuer profile (``access``; ``id`` once ID tokens are minted).
        user: the account (its ``password_hash`` is never in a ``repr``; do not copy it out).
        client_id: the client the token is for.
        scope: the scope granted, space-separated.
    """

    token_type: str
    user: UserRecord
    client_id: str
    scope: str


ClaimsHook = Callable[[ClaimsHookRequest], Mapping[str, Any] | Awaitable[Mapping[str, Any]]]


def load_hook(dotted: str) -> ClaimsHook:
    """The callable that ``dotted`` names (``pkg.module:function`` or ``pkg.module.function``).

    Raises:
        ValueError: the module cannot be imported, has no such attribute, or it is not callable
            (the message says which, with the path; never the module's own error text).
    """
    if not isinstance(dotted, str) or not dotted.strip():
        raise ValueError("expected a dotted path like 'myapp.claims:add_claims', got nothing")
    module_name, sep, attribute = dotted.partition(":")
    if not sep:
        module_name, _, attribute = dotted.rpartition(".")
    if not module_name or not attribute:
        raise ValueError(f"expected a dotted path like 'myapp.claims:add_claims', got {dotted!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(
            f"cannot import module {module_name!r} of the claims hook ({type(exc).__name__})"
        ) from None
    hook = getattr(module, attribute, None)
    if hook is None or not callable(hook):
        raise ValueError(f"expected a callable at {dotted!r}, found {type(hook).__name__}")
    return hook  # type: ignore[no-any-return]


class ClaimsHookRunner:
    """Calls the hook with a deadline and checks what it returns (see the module docstring).

    Example:
        >>> runner = ClaimsHookRunner(lambda request: {"org": "acme"}, timeout=1.0)
        >>> # claims = await runner.claims(ClaimsHookRequest(...))
    """

    def __init__(self, hook: ClaimsHook, *, timeout: float = 1.0, max_workers: int = 4) -> None:
        if not callable(hook):
            raise TypeError("the claims hook must be callable")
        if not (isinstance(timeout, int | float) and 0 < timeout <= 30 and math.isfinite(timeout)):
            raise ValueError("timeout must be between 0 and 30 seconds")
        if not 1 <= max_workers <= 32:
            raise ValueError("max_workers must be between 1 and 32")
        self.hook = hook
        self.timeout = float(timeout)
        self._is_async = inspect.iscoroutinefunction(hook)
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="jwtwarden-claims-hook")

    def close(self) -> None:
        """Stop the pool's idle threads (a hung hook's thread ends when the hook does)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def claims(self, request: ClaimsHookRequest) -> dict[str, Any]:
        """The hook's claims for ``request``, checked.

        Raises:
            ClaimsHookError: it raised, timed out, or returned claims that are refused.
        """
        try:
            async with asyncio.timeout(self.timeout):
                result = await self._call(request)
        except TimeoutError:
            raise self._refuse(request, f"did not answer within {self.timeout:g} s") from None
        except ClaimsHookError:
            raise
        except Exception as exc:
            # The hook's own message may quote user data: its class goes to the log, no more.
            raise self._refuse(request, f"raised {type(exc).__name__}") from None
        return self._checked(request, result)

    async def _call(self, request: ClaimsHookRequest) -> object:
        if self._is_async:
            return await self.hook(request)  # type: ignore[misc]
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._pool, self.hook, request)
        if inspect.isawaitable(result):  # a sync callable that returned a coroutine
            return await result
        return result

    def _checked(self, request: ClaimsHookRequest, result: object) -> dict[str, Any]:
        if not isinstance(result, Mapping):
            raise self._refuse(
                request, f"expected a mapping of claims, got {type(result).__name__}"
            )
        claims = dict(result)
        for name in claims:
            if not isinstance(name, str):
                raise self._refuse(request, f"expected claim names as strings, got {name!r}")
        registered = sorted(set(claims) & HOOK_RESERVED_CLAIMS)
        if registered:
            raise self._refuse(request, f"tried to set registered claims {registered}")
        try:
            encoded = json.dumps(claims, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError):
            raise self._refuse(request, "returned claims that are not JSON values") from None
        if len(encoded.encode()) > _MAX_CLAIMS_BYTES:
            raise self._refuse(
                request,
                f"returned {len(encoded.encode())} bytes of claims, over {_MAX_CLAIMS_BYTES}",
            )
        refused = [f for f in lint_claims(claims) if f.severity == "refuse"]
        if refused:
            # The claim's path and the reason word only: the value may be the secret itself.
            found = ", ".join(f"{f.claim} ({f.reason})" for f in refused)
            raise self._refuse(request, f"returned claims the claim lint refuses: {found}")
        return claims

    @staticmethod
    def _refuse(request: ClaimsHookRequest, why: str) -> ClaimsHookError:
        _log.error(
            "claims hook refused; no token issued",
            extra={
                "event": "claims_hook_failed",
                "token_type": request.token_type,
                "user": request.user.id,
                "client_id": request.client_id,
                "reason": why,
            },
        )
        return ClaimsHookError(f"the claims hook {why}; no {request.token_type} token was issued")
