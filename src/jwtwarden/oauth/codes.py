"""Authorization codes (RFC 6749 4.1.2, OAuth 2.1 4.1.2, RFC 9700 2.1.1): the record, the
``AuthorizationCodeStore`` port, and PKCE ``S256`` (RFC 7636).

A code is 256 random bits with a recognisable prefix (``jwtw_ac_``); only its SHA-256 is
stored. It lives at most 60 seconds (RFC 6749 4.1.2 recommends at most 10 minutes; a browser
redirect takes well under one), is bound to its client, redirect URI, PKCE challenge, scope and
user, and is spent once: the store's ``redeem`` is one conditional update, so of N concurrent
exchanges exactly one wins. A code presented again after it was spent is replay (RFC 6749
4.1.2: "the authorization server MUST deny the request and SHOULD revoke (when possible) all
tokens previously issued based on that authorization code"): the refresh session that the
first exchange started is recorded on the code *before* the session exists, so the replay can
always name what to revoke.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import constant_time

__all__ = [
    "CODE_PREFIX",
    "CODE_TTL",
    "AuthorizationCode",
    "AuthorizationCodeStore",
    "code_hash",
    "new_code",
    "pkce_challenge",
    "valid_challenge",
    "verifier_matches",
]

CODE_PREFIX = "jwtw_ac_"
CODE_TTL = 60.0  # seconds; OAuth 2.1 4.1.2 and the issue: at most 60 s
_CODE_SHAPE = re.compile(r"jwtw_ac_[A-Za-z0-9_-]{43}")
# RFC 7636 4.1: code_verifier = 43*128unreserved.
_VERIFIER_SHAPE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
# RFC 7636 4.2: S256 challenge = BASE64URL(SHA256(verifier)), unpadded: 43 characters.
_CHALLENGE_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, kw_only=True, slots=True)
class AuthorizationCode:
    """One issued code, as stored (keyed by ``code_hash``).

    Parameters:
        code_hash: SHA-256 of the code; the code itself is never stored.
        client_id, redirect_uri: what the code is bound to (RFC 6749 4.1.3).
        redirect_uri_in_request: the authorization request named ``redirect_uri`` (then the
            token request must repeat it, RFC 6749 4.1.3), or it was the one registered URI.
        code_challenge: the PKCE ``S256`` challenge (RFC 7636 4.2).
        scope: the granted scope (space-separated, sorted).
        user_id, auth_time: who signed in, and when (OpenID Connect ``auth_time``).
        nonce: the OpenID Connect ``nonce`` of the request, for its ID token (issue 15).
        signin_session_id: the sign-in session (``oauth.signin``) the code came from (the
            OpenID Connect ``sid``).
        session_id: the refresh session the redemption starts, fixed at redemption; a replay
            revokes it.
        redeemed_at, replayed_at: when it was spent, when it was presented again.
    """

    code_hash: bytes = field(repr=False)
    client_id: str
    redirect_uri: str
    redirect_uri_in_request: bool
    code_challenge: str
    scope: str
    user_id: str
    auth_time: float
    nonce: str | None = None
    signin_session_id: str | None = None
    created_at: float
    expires_at: float
    session_id: str | None = None
    redeemed_at: float | None = None
    replayed_at: float | None = None


def new_code() -> tuple[str, bytes]:
    """A new code and its SHA-256 (the only thing stored)."""
    code = CODE_PREFIX + secrets.token_urlsafe(32)
    return code, hashlib.sha256(code.encode("ascii")).digest()


def code_hash(code: object) -> bytes | None:
    """The storage hash of a presented code, or ``None`` if it cannot be one of ours."""
    if not isinstance(code, str) or _CODE_SHAPE.fullmatch(code) is None:
        return None
    return hashlib.sha256(code.encode("ascii")).digest()


def pkce_challenge(verifier: str) -> str:
    """The ``S256`` challenge of ``verifier`` (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def valid_challenge(challenge: object) -> bool:
    """Whether ``challenge`` has the shape of an ``S256`` challenge (43 base64url characters)."""
    return isinstance(challenge, str) and _CHALLENGE_SHAPE.fullmatch(challenge) is not None


def verifier_matches(verifier: object, challenge: str) -> bool:
    """RFC 7636 4.6: ``BASE64URL(SHA256(code_verifier)) == code_challenge``, compared in
    constant time; a verifier of the wrong shape (4.1) never matches."""
    if not isinstance(verifier, str) or _VERIFIER_SHAPE.fullmatch(verifier) is None:
        return False
    return constant_time.bytes_eq(pkce_challenge(verifier).encode(), challenge.encode())


@runtime_checkable
class AuthorizationCodeStore(Protocol):
    """Codes by hash. Adapters: ``stores.memory.MemoryAuthorizationStore`` (the reference)
    and ``stores.sql.SQLAuthorizationStore``; every method may raise
    ``StoreUnavailableError`` (a 503 at the edge)."""

    async def create_code(self, code: AuthorizationCode) -> None:
        """Store a new code (its hash is random: a clash is a bug and raises)."""
        ...

    async def redeem_code(
        self, code_hash: bytes, *, now: float, session_id: str
    ) -> AuthorizationCode | None:
        """Spend the code if and only if it is unspent and ``expires_at > now``, recording
        ``redeemed_at = now`` and ``session_id``, in one atomic step; return it as stored
        after the update. Of N concurrent calls for one code exactly one returns it; the
        others (and every later call) return ``None`` and change nothing."""
        ...

    async def mark_replayed(self, code_hash: bytes, *, now: float) -> AuthorizationCode | None:
        """A code presented again: if it was spent, record ``replayed_at`` (the first time)
        and return it (with the ``session_id`` to revoke); ``None`` if unknown or never
        spent (an expired, unspent code)."""
        ...

    async def code_replayed(self, code_hash: bytes) -> bool:
        """Whether the code was presented again after it was spent (``replayed_at`` set)."""
        ...

    async def purge_codes(self, *, before: float) -> int:
        """Delete codes whose ``expires_at`` is before ``before``; how many."""
        ...
