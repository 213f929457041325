"""``Key``: one key, pinned to exactly one algorithm, with its use and environment.

A key is imported once (from a JWK, PEM or a generated key), checked against the strength
floors, and from then on only ever used with its own algorithm: the structural fix for
algorithm confusion (RS256 -> HS256 with the public key as the HMAC secret, and the like).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Collection, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from .._jose.algorithms import ALGORITHMS, AlgorithmSpec, spec_for
from .._jose.b64 import b64url_decode_checked
from ..errors import AmbiguousKeyError, InvalidKeyError, JWTWardenError
from ._jwk_members import PRIVATE_MEMBERS, PUBLIC_MEMBERS, check_members, key_material
from .strength import check_hmac_secret, check_rsa_public

__all__ = ["MAX_KID_LENGTH", "Key", "fitting_algorithm", "import_jwk", "import_pem"]

MAX_KID_LENGTH = 256


class _OperationKeys:
    """joserfc's key classes, with ``get_op_key`` answered from a memo: joserfc's checks
    (``key_ops``, private or public) run on a key's first use for an operation, and a key
    never changes after import, so every later signature or verification gets the same
    ``cryptography`` key without them (they cost ESAlgorithm.sign more than the rest of a
    mint; docs/benchmarks.md). A refused operation is never remembered: it raises each time.
    """

    def get_op_key(self, operation: str) -> Any:
        memo: dict[str, Any] = self.__dict__.setdefault("_jwtwarden_op_keys", {})
        try:
            return memo[operation]
        except KeyError:
            native = super().get_op_key(operation)  # type: ignore[misc]
            memo[operation] = native
            return native


class _OctKey(_OperationKeys, OctKey):
    pass


class _RSAKey(_OperationKeys, RSAKey):
    pass


class _ECKey(_OperationKeys, ECKey):
    pass


class _OKPKey(_OperationKeys, OKPKey):
    pass


JOSERFC_KEY_CLASSES: dict[str, Any] = {"oct": _OctKey, "RSA": _RSAKey, "EC": _ECKey, "OKP": _OKPKey}


class Key:
    """A key pinned to one algorithm. Secret material never shows in ``repr`` or ``str``.

    Attributes: ``kid``, ``alg``, ``token_use`` (the token type it signs, such as ``access``,
    or ``None`` for any), ``environment`` (``production``, ``staging``, ...; ``None`` if not
    recorded), ``is_private`` and ``is_symmetric``.
    """

    __slots__ = ("_jwk", "alg", "environment", "impl", "is_private", "kid", "spec", "token_use")

    def __init__(
        self,
        jwk: Any,
        *,
        alg: str,
        kid: str,
        token_use: str | None = None,
        environment: str | None = None,
    ) -> None:
        self.spec: AlgorithmSpec = spec_for(alg)
        self.alg = alg
        self.impl = self.spec.impl
        self._jwk = jwk
        self.kid = kid
        self.token_use = token_use
        self.environment = environment
        self.is_private = bool(self.spec.kty == "oct" or jwk.is_private)

    @property
    def is_symmetric(self) -> bool:
        return self.spec.kty == "oct"

    @property
    def jwk(self) -> Any:
        """The ``joserfc`` key object, for handing to ``joserfc`` algorithms."""
        return self._jwk

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK (``kty``, key members, ``kid``, ``alg``, ``use``). Refuses HMAC keys."""
        if self.is_symmetric:
            raise ValueError("an HMAC key has no public part and is never published")
        data = self._jwk.as_dict(private=False)
        out: dict[str, Any] = {"kty": data["kty"]}
        for name in PUBLIC_MEMBERS[data["kty"]]:
            out[name] = data[name]
        out.update(kid=self.kid, alg=self.alg, use="sig")
        return out

    def export_private_jwk(self) -> dict[str, Any]:
        """The full private JWK. Only for an explicit export by the key's owner."""
        data = self._jwk.as_dict(private=True)
        kty = data["kty"]
        out: dict[str, Any] = {"kty": kty}
        for name in (*PUBLIC_MEMBERS[kty], *PRIVATE_MEMBERS[kty]):
            if name in data:
                out[name] = data[name]
        out.update(kid=self.kid, alg=self.alg)
        return out

    def public_key(self) -> Key:
        """This key without its private half (itself if it is already public)."""
        if not self.is_private or self.is_symmetric:
            return self
        jwk = JOSERFC_KEY_CLASSES[self.spec.kty].import_key(self.public_jwk())
        return Key(
            jwk, alg=self.alg, kid=self.kid, token_use=self.token_use, environment=self.environment
        )

    def thumbprint(self) -> str:
        """RFC 7638 SHA-256 thumbprint of the key."""
        return str(self._jwk.thumbprint())

    def __repr__(self) -> str:
        kind = "private" if self.is_private else "public"
        return (
            f"Key(kid={self.kid!r}, alg={self.alg!r}, use={self.token_use!r}, "
            f"environment={self.environment!r}, {kind})"
        )

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # Pickling would copy secret material somewhere we cannot see; refuse.
        raise TypeError("Key objects are not picklable; export explicitly if you must")


def _check_kid(kid: Any) -> str:
    if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
        raise InvalidKeyError(f"kid must be a non-empty string of at most {MAX_KID_LENGTH} chars")
    if not kid.isprintable():
        # A kid is printed (keys list, logs) and used as a file name: control characters, bidi
        # overrides and lone surrogates would drive a terminal or break an encoder there.
        raise InvalidKeyError("kid must hold printable characters only")
    return kid


def _check_strength(spec: AlgorithmSpec, jwk: Any) -> None:
    if spec.kty == "oct":
        check_hmac_secret(jwk.raw_value, alg=spec.name, min_bits=spec.min_bits)
    elif spec.kty == "RSA":
        pub = jwk.public_key
        check_rsa_public(pub, min_bits=spec.min_bits)
    elif spec.kty in ("EC", "OKP"):
        curve = jwk.curve_name
        if curve not in spec.curves:
            raise InvalidKeyError(
                f"{spec.name} needs a key on {' or '.join(sorted(spec.curves))}, not {curve}"
            )


def import_jwk(
    data: Mapping[str, Any] | str | bytes,
    *,
    algorithm: str | Collection[str] | None = None,
    token_use: str | None = None,
    environment: str | None = None,
) -> Key:
    """Import one JWK and pin it to its algorithm.

    The key's own ``alg`` member is used; if it has none, ``algorithm`` must name it: one
    algorithm, or the allowed ones, of which exactly one must fit the key's type and curve
    (``fitting_algorithm``: an RSA key with RS256 and ES256 allowed is RS256; with RS256 and
    PS256 it is ambiguous and refused). A key
    whose ``alg`` disagrees with ``algorithm``, whose ``use`` is not ``sig``, whose ``key_ops``
    allow neither signing nor verifying, or which fails a strength floor is refused.

    Raises:
        InvalidKeyError, WeakKeyError: the key is refused.

    Example:
        >>> key = import_jwk({"kty": "oct", "k": "...", "alg": "HS256"})  # doctest: +SKIP
    """
    data = _jwk_object(data)
    spec = _pinned_spec(data, algorithm)
    _check_use(data)
    material = key_material(data, spec.kty)
    check_members(spec, material)  # the kty's checks, before joserfc sees the key
    try:
        jwk = JOSERFC_KEY_CLASSES[spec.kty].import_key(material)
    except JWTWardenError:
        raise
    except Exception as exc:  # joserfc / cryptography refuse malformed keys in many ways
        raise InvalidKeyError(f"the {spec.kty} key is invalid: {type(exc).__name__}") from None
    _check_strength(spec, jwk)
    if spec.kty == "OKP" and "d" in material and "x" in material:
        _check_okp_pair(jwk, material["x"])
    kid = data.get("kid")
    kid = _check_kid(kid) if kid is not None else str(jwk.thumbprint())
    return Key(jwk, alg=spec.name, kid=kid, token_use=token_use, environment=environment)


def _jwk_object(data: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise InvalidKeyError("the JWK is not valid JSON") from None
    if not isinstance(data, Mapping):
        raise InvalidKeyError("a JWK must be a JSON object")
    return data


def _pinned_spec(data: Mapping[str, Any], algorithm: str | Collection[str] | None) -> AlgorithmSpec:
    """The one algorithm the key is for: its own ``alg``, or the caller's; of its ``kty``."""
    kty = data.get("kty")
    # type() first: a list or an object as kty is unhashable, and the dictionary lookup would
    # raise TypeError instead of refusing the key (found by the atheris jwk target).
    if type(kty) is not str or kty not in JOSERFC_KEY_CLASSES:
        raise InvalidKeyError(f"unsupported kty {str(kty)[:20]!r}; expected RSA, EC, OKP or oct")
    own_alg = data.get("alg")
    if own_alg is not None and isinstance(algorithm, str) and own_alg != algorithm:
        raise InvalidKeyError(f"the key is for {own_alg!r}, not {algorithm!r}")
    alg = own_alg if own_alg is not None else fitting_algorithm(data, algorithm)
    if alg is None:
        raise InvalidKeyError(
            "the key has no 'alg'; name the one algorithm it is for (keys are pinned to one)"
        )
    try:
        spec = spec_for(alg)
    except ValueError as exc:
        raise InvalidKeyError(str(exc)) from None
    if spec.kty != kty:
        raise InvalidKeyError(f"{alg} needs a {spec.kty} key, not {kty}")
    return spec


def fitting_algorithm(
    data: Mapping[str, Any], algorithms: str | Collection[str] | None
) -> str | None:
    """The algorithm a JWK without ``alg`` is pinned to, among ``algorithms``.

    One algorithm (a string) is taken as named (the type check follows). Among several, the
    key's ``kty`` (and ``crv``) must fit exactly one: an RSA key with RS256 and PS256 allowed
    could verify either, and guessing is how a key ends up used with an algorithm its owner
    never chose (RFC 8725 3.1), so that is refused as ambiguous rather than picked.

    Raises:
        InvalidKeyError: no allowed algorithm fits the key.
        AmbiguousKeyError: several do (an ``InvalidKeyError`` with code ``ambiguous_key``).
    """
    if algorithms is None or isinstance(algorithms, str):
        return algorithms
    kty, crv = data.get("kty"), data.get("crv")
    fits = sorted(
        name
        for name in set(algorithms)
        if (spec := ALGORITHMS.get(name)) is not None
        and spec.kty == kty
        and (not spec.curves or crv in spec.curves)
    )
    if len(fits) == 1:
        return fits[0]
    shape = f"{str(kty)[:8]} key" + (f" on {str(crv)[:16]}" if crv is not None else "")
    allowed = ", ".join(sorted(map(str, algorithms)))
    if not fits:
        raise InvalidKeyError(
            f"the key has no 'alg' and no allowed algorithm ({allowed}) fits a {shape}"
        )
    raise AmbiguousKeyError(
        f"the key has no 'alg' and a {shape} fits {' and '.join(fits)}: ambiguous; allow one "
        "of them only, or give the key its 'alg'"
    )


def _check_use(data: Mapping[str, Any]) -> None:
    use = data.get("use")
    if use is not None and use != "sig":
        raise InvalidKeyError(f"the key's use is {str(use)[:20]!r}; a signing key has use 'sig'")
    ops = data.get("key_ops")
    if ops is not None and (
        not isinstance(ops, list) or not ({"sign", "verify"} & set(map(str, ops)))
    ):
        raise InvalidKeyError("the key's key_ops allow neither 'sign' nor 'verify'")


def _check_okp_pair(jwk: Any, x: str) -> None:
    # joserfc derives an OKP key from "d" alone and keeps the given "x" for export: a JWK with
    # a foreign "x" would publish one key and verify with another. cryptography checks this
    # for EC and RSA private keys; OKP needs it here.
    derived = jwk.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    if not hmac.compare_digest(derived, b64url_decode_checked(x)):
        raise InvalidKeyError("the OKP key's 'x' is not the public key of its 'd'")


def _load_pem(data: bytes, password: bytes | None) -> Any:
    """The key (or the certificate's key) in ``data``, as a ``cryptography`` object."""
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data).public_key()
        if b"PRIVATE KEY-----" in data:
            return load_pem_private_key(data, password=password)
        return load_pem_public_key(data)
    except Exception as exc:
        raise InvalidKeyError(f"not a readable PEM key: {type(exc).__name__}") from None


def _native_kty(native: Any) -> str:
    if isinstance(native, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(native, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return "EC"
    if isinstance(
        native,
        ed25519.Ed25519PublicKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PublicKey
        | ed448.Ed448PrivateKey,
    ):
        return "OKP"
    raise InvalidKeyError(f"unsupported key type {type(native).__name__}")


def import_pem(
    pem: str | bytes,
    *,
    algorithm: str,
    kid: str | None = None,
    token_use: str | None = None,
    environment: str | None = None,
    password: bytes | None = None,
) -> Key:
    """Import a PEM public key, private key or X.509 certificate, pinned to ``algorithm``.

    PEM carries no algorithm, so the caller must name it.
    """
    data = pem.encode() if isinstance(pem, str) else pem
    if data.count(b"-----BEGIN ") > 1:
        # Which of several keys would be trusted is up to the parser (the first, the private
        # one, the certificate): refuse the ambiguity, as KeySet refuses two keys with one kid.
        raise InvalidKeyError(
            "the PEM data holds several blocks; give exactly one key or certificate"
        )
    try:
        spec = spec_for(algorithm)
    except ValueError as exc:
        raise InvalidKeyError(str(exc)) from None
    if spec.kty == "oct":
        raise InvalidKeyError("an HMAC secret is not a PEM key; import it as a JWK")
    native = _load_pem(data, password)
    kty = _native_kty(native)
    if kty != spec.kty:
        raise InvalidKeyError(f"{algorithm} needs a {spec.kty} key, not {kty}")
    if kty == "RSA":
        # Before joserfc's import, which only warns about short moduli (see import_jwk).
        public = native.public_key() if isinstance(native, rsa.RSAPrivateKey) else native
        check_rsa_public(public, min_bits=spec.min_bits)
    jwk = JOSERFC_KEY_CLASSES[kty].import_key(native)
    _check_strength(spec, jwk)
    kid = _check_kid(kid) if kid is not None else str(jwk.thumbprint())
    return Key(jwk, alg=algorithm, kid=kid, token_use=token_use, environment=environment)
