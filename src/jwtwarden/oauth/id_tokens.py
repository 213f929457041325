"""OpenID Connect ID tokens (Core 1.0 section 2, 3.1.3.6), minted by the ``Issuer``'s ``id``
profile: ``typ`` ``JWT``, signed by a key of the ``id`` use (never an access-token key), with
``aud`` the client, ``auth_time``, ``sid``, ``nonce`` exactly as sent, and ``at_hash`` of the
access token issued with it.

Only the required claims and the session's travel in the ID token; what the scopes ``profile``
and ``email`` grant is served by the userinfo endpoint (Core 5.4 asks for that whenever an
access token is issued, which the code flow always does).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes

from .._jose.b64 import b64url_decode, b64url_encode

__all__ = ["IDTokenMinter", "IDTokenRequest", "at_hash", "hash_for_alg"]

ID_PROFILE = "id"


class _Minter(Protocol):
    def mint(
        self,
        profile: str = ...,
        *,
        sub: str,
        audience: str | Sequence[str],
        claims: dict[str, Any] | None = ...,
        ttl: float | None = ...,
        nonce: str | None = ...,
    ) -> str: ...


class _AlgorithmOf(Protocol):
    def __call__(self) -> str: ...


def hash_for_alg(alg: str) -> hashes.HashAlgorithm:
    """The hash of a JWS ``alg``, as OpenID Connect Core 3.1.3.6 uses it for ``at_hash``:
    SHA-2 of the algorithm's size; SHA-512 for EdDSA / Ed25519 (the hash Ed25519 is built on,
    as OpenID Connect and the other providers use).

    Raises:
        ValueError: an algorithm with no defined hash (``none``, or one we do not know).
    """
    if alg in ("EdDSA", "Ed25519"):
        return hashes.SHA512()
    size = alg[2:] if len(alg) == 5 and alg[:2] in ("RS", "PS", "ES", "HS") else ""
    if size == "256":
        return hashes.SHA256()
    if size == "384":
        return hashes.SHA384()
    if size == "512":
        return hashes.SHA512()
    raise ValueError(f"no at_hash is defined for the algorithm {alg!r}")


def at_hash(access_token: str, alg: str) -> str:
    """OpenID Connect Core 3.1.3.6: base64url of the left-most half of the hash of the ASCII
    access token, with the hash of the ID token's ``alg``.

    Example:
        >>> at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNTJ1pWAsMaHOUNXwN3Y", "RS256")  # doctest: +SKIP
    """
    digest = hashes.Hash(hash_for_alg(alg))
    digest.update(access_token.encode("ascii"))
    value = digest.finalize()
    return b64url_encode(value[: len(value) // 2])


@dataclass(frozen=True, kw_only=True, slots=True)
class IDTokenRequest:
    """What one ID token says.

    Parameters:
        sub: the user's id.
        client_id: the client it is for (``aud``; ``azp`` too when ``audience`` adds others).
        auth_time: when the user signed in (Core 2: seconds since the epoch).
        sid: the sign-in session's id (OpenID Connect Front-Channel Logout 1.0 3; no secret).
        nonce: the authentication request's ``nonce``, echoed exactly; ``None`` when it sent
            none (Core 3.1.2.1, a confidential client's choice).
        access_token: the access token issued with it, for ``at_hash`` (Core 3.1.3.6).
        audience: further audiences besides the client (rare; ``azp`` is then set, Core 2).
    """

    sub: str
    client_id: str
    auth_time: float
    sid: str | None = None
    nonce: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    audience: tuple[str, ...] = ()


class IDTokenMinter:
    """Mints ID tokens through an ``Issuer`` that has the ``id`` profile.

    Parameters:
        minter: the ``Issuer``.
        algorithm: returns the ``alg`` of the ``id`` use's active signing key (``at_hash``
            depends on it; the token's header is checked against it after signing).
        ttl: the ID token's lifetime in seconds (default 600; the ``id`` profile caps it).
    """

    __slots__ = ("_algorithm", "_minter", "_ttl")

    def __init__(self, minter: _Minter, algorithm: _AlgorithmOf, *, ttl: int = 600) -> None:
        self._minter = minter
        self._algorithm = algorithm
        self._ttl = ttl

    def mint(self, request: IDTokenRequest) -> str:
        """The signed ID token.

        Raises:
            ValueError: a bad request (an empty nonce, an unknown algorithm).
            NoSigningKeyError, ClaimLintError, TokenBudgetError: from the issuer.
        """
        alg = self._algorithm()
        token = self._mint(request, alg)
        signed_with = _header_alg(token)
        if signed_with != alg:
            # The id key rotated to another algorithm between the look-up and the signature:
            # at_hash must use the hash of the alg that signed (Core 3.1.3.6).
            token = self._mint(request, signed_with)
        return token

    def _mint(self, request: IDTokenRequest, alg: str) -> str:
        claims: dict[str, Any] = {"auth_time": int(request.auth_time)}
        audience: str | list[str] = request.client_id
        extra = [a for a in request.audience if a != request.client_id]
        if extra:
            # Core 2: azp is the party the token was issued to when aud names several.
            audience = [request.client_id, *extra]
            claims["azp"] = request.client_id
        if request.sid is not None:
            claims["sid"] = request.sid
        if request.access_token is not None:
            claims["at_hash"] = at_hash(request.access_token, alg)
        return self._minter.mint(
            ID_PROFILE,
            sub=request.sub,
            audience=audience,
            claims=claims,
            ttl=self._ttl,
            nonce=request.nonce,
        )

    def __repr__(self) -> str:
        return f"IDTokenMinter(ttl={self._ttl})"


def _header_alg(token: str) -> str:
    header = json.loads(b64url_decode(token.split(".", 1)[0]))
    alg = header["alg"]
    assert isinstance(alg, str)  # the issuer's own header
    return alg
