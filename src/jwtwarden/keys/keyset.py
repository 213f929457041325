"""``KeySet``: the keys a verifier trusts, indexed by ``kid`` and by algorithm.

A set is refused at load if two keys share a ``kid`` (which one would verify?) or if it mixes
HMAC secrets with asymmetric keys: such a set is how a public key ends up used as an HMAC
secret (Wycheproof ``jws_mixedSymmetryKeyset``, ``jws_duplicate_kid``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from .._jose.b64 import b64url_encode
from ..errors import AlgorithmNotAllowedError, InvalidKeyError, UnknownKeyError
from .key import Key, import_jwk, import_pem

__all__ = ["KeySet"]


_MAX_KEY_FILE = 1 << 20  # a JWK Set of dozens of RSA keys is tens of KiB


class KeySet:
    """An immutable set of pinned keys.

    Example:
        >>> keys = KeySet.from_jwks(open("jwks.json").read())  # doctest: +SKIP
    """

    __slots__ = ("_by_alg", "_by_kid", "_keys")

    def __init__(self, keys: Iterable[Key]) -> None:
        ordered = tuple(keys)
        by_kid: dict[str, Key] = {}
        by_alg: dict[str, list[Key]] = {}
        for key in ordered:
            if not isinstance(key, Key):
                raise TypeError(f"KeySet takes Key objects, not {type(key).__name__}")
            if key.kid in by_kid:
                raise InvalidKeyError(f"two keys share the kid {key.kid[:64]!r}")
            by_kid[key.kid] = key
            by_alg.setdefault(key.alg, []).append(key)
        kinds = {k.is_symmetric for k in ordered}
        if len(kinds) > 1:
            raise InvalidKeyError(
                "a key set must not mix HMAC secrets with asymmetric keys (algorithm confusion)"
            )
        self._keys = ordered
        self._by_kid = by_kid
        self._by_alg = {alg: tuple(v) for alg, v in by_alg.items()}

    @classmethod
    def from_jwks(
        cls,
        data: str | bytes | Mapping[str, Any],
        *,
        algorithm: str | Collection[str] | None = None,
        environment: str | None = None,
    ) -> KeySet:
        """Load a JWK Set (``{"keys": [...]}``) or a single JWK.

        ``algorithm`` is for keys that carry no ``alg`` of their own (Entra ID publishes such
        sets): one algorithm, or the allowed algorithms, of which exactly one must fit each
        such key's type (RSA keys with ``["RS256", "ES256"]``: RS256); a key that fits several
        (RSA with ``["RS256", "PS256"]``) is refused as ambiguous. Keys with an ``alg`` keep it.

        Raises:
            InvalidKeyError, WeakKeyError: a key is refused (the whole set is).

        Example:
            >>> KeySet.from_jwks(jwks_text, algorithm=["RS256", "ES256"])  # doctest: +SKIP
        """
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except (ValueError, RecursionError):
                raise InvalidKeyError("the JWK Set is not valid JSON") from None
        if not isinstance(data, Mapping):
            raise InvalidKeyError("a JWK Set must be a JSON object")
        if "keys" not in data:
            return cls([import_jwk(data, algorithm=algorithm, environment=environment)])
        items = data["keys"]
        if not isinstance(items, list):
            raise InvalidKeyError("the JWK Set's 'keys' must be a list")
        return cls(import_jwk(item, algorithm=algorithm, environment=environment) for item in items)

    @classmethod
    def from_pem(cls, pem: str | bytes, *, algorithm: str, kid: str | None = None) -> KeySet:
        """Load one PEM key (public, private or certificate), pinned to ``algorithm``.

        PEM carries no algorithm, so it must be named; RSA keys under 2048 bits and EC keys off
        the algorithm's curve are refused (``WeakKeyError``, ``InvalidKeyError``).

        Example:
            >>> KeySet.from_pem(open("public.pem").read(), algorithm="RS256")  # doctest: +SKIP
        """
        return cls([import_pem(pem, algorithm=algorithm, kid=kid)])

    @classmethod
    def from_secret(
        cls, secret: str | bytes, *, algorithm: str = "HS256", kid: str | None = None
    ) -> KeySet:
        """One HMAC secret (the raw bytes; a ``str`` is taken as UTF-8), pinned to ``algorithm``.

        The strength floor holds: at least as many bytes as the hash output (32 for HS256,
        RFC 7518 3.2) and not a placeholder of repeated bytes (``WeakKeyError``). Without a
        ``kid`` the key's RFC 7638 thumbprint is its ``kid``.

        Raises:
            InvalidKeyError: ``algorithm`` is not an HMAC algorithm.
            WeakKeyError: the secret is too short or has almost no entropy.

        Example:
            >>> keys = KeySet.from_secret(open("secret.bin", "rb").read())  # doctest: +SKIP
        """
        raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if not algorithm.startswith("HS"):
            raise InvalidKeyError(f"{algorithm!r} is not an HMAC algorithm (HS256, HS384, HS512)")
        jwk: dict[str, Any] = {"kty": "oct", "k": b64url_encode(raw), "alg": algorithm}
        if kid is not None:
            jwk["kid"] = kid
        return cls([import_jwk(jwk)])

    @classmethod
    def from_file(cls, path: str, *, algorithm: str | None = None) -> KeySet:
        """Load a JWK Set (``.json``) or a PEM file; PEM files need ``algorithm``."""
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_KEY_FILE + 1)  # bounded: ``path`` may be /dev/zero
        if len(raw) > _MAX_KEY_FILE:
            raise InvalidKeyError(f"{path} is over {_MAX_KEY_FILE} bytes; not a key file")
        if raw.lstrip().startswith(b"-----BEGIN"):
            if algorithm is None:
                raise InvalidKeyError(f"{path} is PEM: name its algorithm")
            return cls.from_pem(raw, algorithm=algorithm)
        return cls.from_jwks(raw, algorithm=algorithm)

    def select(self, kid: str | None, alg: str) -> Key:
        """The key for a token's ``kid`` and ``alg``; raise if there is not exactly one.

        A ``kid`` names one key, which must be pinned to ``alg``. Without a ``kid`` the token
        is accepted only when exactly one key of the set is for ``alg``.
        """
        if kid is not None:
            key = self._by_kid.get(kid)
            if key is None:
                raise UnknownKeyError("no trusted key has the token's kid")
            if key.alg != alg:
                raise AlgorithmNotAllowedError(
                    f"the key named by kid is pinned to {key.alg}, but the token says {alg}"
                )
            return key
        candidates = self._by_alg.get(alg, ())
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise UnknownKeyError(f"no trusted key is for {alg}")
        raise UnknownKeyError(f"the token has no kid and {len(candidates)} keys are for {alg}")

    def get(self, kid: str) -> Key | None:
        return self._by_kid.get(kid)

    def for_algorithm(self, alg: str) -> tuple[Key, ...]:
        return self._by_alg.get(alg, ())

    @property
    def algorithms(self) -> frozenset[str]:
        return frozenset(self._by_alg)

    def public(self) -> KeySet:
        """The same set with private halves dropped (HMAC keys stay as they are)."""
        return KeySet(k.public_key() for k in self._keys)

    def public_jwks(self) -> dict[str, Any]:
        """The public JWK Set document. HMAC keys are never published."""
        return {"keys": [k.public_jwk() for k in self._keys if not k.is_symmetric]}

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._by_kid

    def __repr__(self) -> str:
        return f"KeySet({', '.join(f'{k.kid[:16]}:{k.alg}' for k in self._keys)})"
