"""Refresh-token rotation, decided once: the rules of a refresh over the store's plain
operations (``ports.SessionTransaction``), the same for every adapter.

A refresh runs in one store transaction (``SessionStore.transaction``):

1. The hot path: the conditional spend of the presented token, which inserts its successor
   (one statement on PostgreSQL). It succeeds only for a live token of a live session
   (``TokenState.spendable``); the access token is minted before the commit, so a failure
   leaves the presented token live.
2. Only when the spend matched nothing: the token's state is read and ``judge`` says why, in
   the same transaction. A spent token is either a *retry* (RFC 6749 6 lets the client retry
   a refresh whose response it lost) or *reuse* (RFC 6819 5.2.2.3, RFC 9700 4.14.2: the whole
   family is revoked).

Idempotent retries without storing a token: the successor of a token is not random but
derived from it, ``HMAC-SHA256(successor key, presented token)``, so a retry recomputes it and
gets the *same* successor back (never a second, different one), while the database keeps
only hashes. A spent token is a retry when its recorded successor is the one derived now, that
successor has not been used yet, and the token was spent at most ``retry_window`` seconds ago.
Once the successor is used, the parent is reuse (theft detection moves one step, no more).
Why this is safe, and what an attacker holding a parent can do inside the window:
``docs/security.md``.
"""

from __future__ import annotations

import base64
import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import constant_time, hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .ports import NewRefreshToken, SessionRecord, SessionStore, TokenState
from .tokens import REFRESH_TOKEN_PREFIX

__all__ = [
    "MAX_RETRY_WINDOW",
    "Minted",
    "Outcome",
    "Rotator",
    "Verdict",
    "derive_successor_key",
    "judge",
    "successor_of",
]

MAX_RETRY_WINDOW = 300.0
SUCCESSOR_KEY_BYTES = 32
# RFC 5869 3.2: a distinct ``info`` per use of the server's secret, so the successor key never
# equals the KEK or the CSRF key, and a successor says nothing about either.
_SUCCESSOR_INFO = b"jwtwarden/sessions/refresh-successor/v1"


def derive_successor_key(secret: bytes) -> bytes:
    """The successor key from a server secret (the KEK): HKDF-SHA256 with its own ``info``,
    so every process of a deployment derives the same successors.

    Raises:
        ValueError: ``secret`` is shorter than 32 bytes.
    """
    if len(secret) < SUCCESSOR_KEY_BYTES:
        raise ValueError(f"the secret must be at least {SUCCESSOR_KEY_BYTES} bytes")
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=SUCCESSOR_KEY_BYTES, salt=None, info=_SUCCESSOR_INFO
    )
    return hkdf.derive(secret)


def successor_of(key: bytes, presented: str) -> str:
    """The refresh token that spending ``presented`` issues: ``HMAC-SHA256(key, presented)``
    in the refresh-token format (a PRF output: as unpredictable as a random token to anyone
    without ``key``, and recomputable by the server for a retry).

    Example:
        >>> successor_of(b"k" * 32, "jwtw_rt_" + "A" * 43).startswith("jwtw_rt_")
        True
    """
    return _successor(hmac.HMAC(key, hashes.SHA256()), presented)


def _successor(keyed: hmac.HMAC, presented: str) -> str:
    mac = keyed.copy()  # a copy of the keyed state: no key set-up per refresh
    mac.update(presented.encode("ascii"))
    return REFRESH_TOKEN_PREFIX + base64.urlsafe_b64encode(mac.finalize()).rstrip(b"=").decode()


class Verdict(enum.StrEnum):
    """What a refresh came to."""

    ROTATED = "rotated"  # spent; its successor issued
    RETRIED = "retried"  # a retry of a spent token: the same successor again
    UNKNOWN = "unknown"  # no such token
    EXPIRED = "expired"  # idle or absolute lifetime over
    ENDED = "ended"  # session revoked, user disabled or gone, or auth version moved on
    REUSED = "reused"  # a spent token that is no retry: the family is revoked
    OTHER_CLIENT = "other_client"  # issued to another client (RFC 6749 10.4); nothing changed


def judge(
    state: TokenState | None,
    *,
    now: float,
    retry_window: float,
    successor_hash: bytes,
    client_id: str | None,
) -> Verdict:
    """Why a token the conditional spend did not match is refused, or that it is a retry.

    ``successor_hash`` is the hash of the successor derived from the presented token now.
    """
    if state is None:
        return Verdict.UNKNOWN
    if client_id is not None and client_id != state.session.client_id:
        # RFC 6749 10.4 / 6: bound to its client. Refused before any other verdict, so another
        # client can neither spend, retry nor revoke the family (a spent token of client A
        # presented by client B proves nothing about A's copy).
        return Verdict.OTHER_CLIENT
    if state.spent_at is None:
        return Verdict.ENDED if state.ended else Verdict.EXPIRED
    if state.session.revoked_at is not None:
        return Verdict.ENDED  # logout, revocation, an earlier reuse: nothing left to detect
    retry = (
        retry_window > 0
        and now - state.spent_at <= retry_window
        and state.replaced_by is not None
        and constant_time.bytes_eq(state.replaced_by, successor_hash)
        and state.successor_spent_at is None
    )
    if not retry or state.ended:
        # Reuse: the window is over, the successor was used (by either holder of it), the
        # token was spent by a revocation, or the session cannot refresh any more.
        return Verdict.REUSED
    return Verdict.RETRIED if state.session.expires_at > now else Verdict.EXPIRED


@dataclass(frozen=True, kw_only=True, slots=True)
class Minted:
    """The access token of a refresh, minted inside its transaction."""

    access_token: str = field(repr=False)
    claims: dict[str, Any] = field(repr=False)
    scope: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    """A refresh's verdict; for ``ROTATED`` and ``RETRIED`` the successor and the access token."""

    verdict: Verdict
    session: SessionRecord | None = None
    minted: Minted | None = None
    refresh_token: str | None = field(default=None, repr=False)


class _OtherClient(Exception):
    """Raised inside the transaction to roll a spend back (the token stays live)."""


Mint = Callable[[SessionRecord], Minted]


@dataclass(frozen=True, kw_only=True, slots=True)
class Rotator:
    """Runs one refresh over a ``SessionStore``: the spend, the verdict, the mint."""

    store: SessionStore
    key: bytes = field(repr=False)
    retry_window: float
    idle_ttl: float
    _keyed: hmac.HMAC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keyed", hmac.HMAC(self.key, hashes.SHA256()))

    async def refresh(
        self,
        presented: str,
        digest: bytes,
        *,
        now: float,
        client_id: str | None,
        mint: Mint,
        idle_ttl: float | None = None,
    ) -> Outcome:
        """Spend ``presented`` (whose storage hash is ``digest``) or judge why not; ``mint``
        is called inside the transaction, and whatever it raises rolls everything back.
        ``idle_ttl``: the successor's idle lifetime (a client's own; default ``self.idle_ttl``)."""
        successor = _successor(self._keyed, presented)
        successor_hash = hashlib.sha256(successor.encode("ascii")).digest()
        idle = self.idle_ttl if idle_ttl is None else idle_ttl
        new = NewRefreshToken(token_hash=successor_hash, issued_at=now, expires_at=now + idle)
        try:
            async with self.store.transaction() as tx:
                session = await tx.spend(digest, new, now=now)
                if session is not None:
                    if client_id is not None and client_id != session.client_id:
                        # RFC 6749 6 / 10.4: another client's token; undo the spend.
                        raise _OtherClient
                    return Outcome(
                        verdict=Verdict.ROTATED,
                        session=session,
                        minted=mint(session),
                        refresh_token=successor,
                    )
                state = await tx.token_state(digest)
                verdict = judge(
                    state,
                    now=now,
                    retry_window=self.retry_window,
                    successor_hash=successor_hash,
                    client_id=client_id,
                )
                if state is None:
                    return Outcome(verdict=verdict)
                if verdict is Verdict.RETRIED:
                    # Nothing is written: the successor stored at the first spend is the one
                    # recomputed here; only a new access token is minted.
                    return Outcome(
                        verdict=verdict,
                        session=state.session,
                        minted=mint(state.session),
                        refresh_token=successor,
                    )
                if verdict is Verdict.REUSED:
                    # Committed with the block: the revocation must stick.
                    await tx.revoke_family(state.session.id, now=now, reason="reuse")
                return Outcome(verdict=verdict, session=state.session)
        except _OtherClient:
            return Outcome(verdict=Verdict.OTHER_CLIENT)
