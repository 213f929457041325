"""Shared pieces of the ``verify`` and ``inspect`` commands: exit codes, usage errors, and the
one place where a key source and a policy are built from command-line options.

Configuration problems (an unreadable or refused key set, an unsafe policy, a bad option) exit
with code 2 and a one-line message on stderr; they never look like a refused token (exit 1).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ..errors import AlgorithmNotAllowedError, InvalidKeyError, JWTWardenError, KeyRejectedError
from ..keys.key import Key
from ..keys.keyset import KeySet
from ..policy import VerificationPolicy
from ..verify import KeySource
from ._input import MAX_KEY_FILE, InputRefused, read_regular_file

__all__ = [
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "PROFILES",
    "AlgorithmOption",
    "AllowLoopbackOption",
    "DiscoveryOption",
    "JWKSOption",
    "JWKSURLOption",
    "OneKey",
    "PEMOption",
    "RequireClientIdOption",
    "SecretFileOption",
    "build_key_source",
    "build_policy",
    "default_algorithms",
    "usage_error",
    "warm_up",
]

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
PROFILES = ("generic", "access", "id")


def usage_error(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def build_key_source(
    jwks_path: Path | None,
    jwks_url: str | None,
    discovery: str | None,
    allow_loopback_http: bool,
    algorithms: Sequence[str] = (),
    *,
    pem: Path | None = None,
    secret_file: Path | None = None,
) -> KeySet | KeySource:
    """The trusted keys named on the command line: exactly one of ``--jwks PATH`` (a JWK Set,
    a single JWK or a PEM file), ``--pem PATH``, ``--secret-file PATH`` (an HMAC secret),
    ``--jwks-url URL`` or ``--discovery ISSUER``.

    ``algorithms`` (the ``--algorithm`` options) pin keys that carry no ``alg`` of their own:
    each such key's type must fit exactly one of them (else it is refused as ambiguous). A PEM
    key and a secret need exactly one (HS256 for a secret by default).
    Exits with code 2 (``usage_error``) when the source cannot be built.

    Example:
        >>> keys = build_key_source(Path("jwks.json"), None, None, False)  # doctest: +SKIP
    """
    named = (
        ("--jwks", jwks_path),
        ("--pem", pem),
        ("--secret-file", secret_file),
        ("--jwks-url", jwks_url),
        ("--discovery", discovery),
    )
    given = [name for name, v in named if v]
    if len(given) != 1:
        usage_error(
            "give exactly one of --jwks FILE, --pem FILE, --secret-file FILE, --jwks-url URL "
            f"or --discovery URL{' (not ' + ' and '.join(given) + ')' if given else ''}"
        )
    local = jwks_path or pem or secret_file
    if local is not None:
        what = given[0]
        try:
            raw = read_regular_file(local, MAX_KEY_FILE, "key set")
            if secret_file is not None:
                return OneKey(_secret_keys(raw, algorithms))
            if pem is not None:
                return OneKey(_load_key_file(raw, local, algorithms, pem_only=True))
            return _load_key_file(raw, local, algorithms, pem_only=False)
        except OSError as exc:
            usage_error(f"cannot read {what} {str(local)!r}: {exc.strerror or exc}")
        except InputRefused as exc:
            usage_error(str(exc))
        except KeyRejectedError as exc:
            usage_error(f"{what} {str(local)!r} is refused: {exc.detail} [{exc.code}]")
    return _remote_key_source(jwks_url, discovery, allow_loopback_http, algorithms)


def _remote_key_source(
    jwks_url: str | None,
    discovery: str | None,
    allow_loopback_http: bool,
    algorithms: Sequence[str],
) -> KeySource:
    if not _httpx_available():
        usage_error("remote JWKS needs jwtwarden[remote] (pip install 'jwtwarden[remote]')")
    from ..jwks import RemoteJWKS

    options: dict[str, Any] = {
        "allow_loopback_http": allow_loopback_http,
        "algorithm": tuple(algorithms) or None,
    }
    try:
        if jwks_url is not None:
            source = RemoteJWKS(jwks_url, **options)
        else:
            source = RemoteJWKS.from_discovery(str(discovery), **options)
    except (ValueError, TypeError) as exc:
        usage_error(f"the key set URL is refused: {exc}")
    return source


def warm_up(keys: KeySet | KeySource) -> None:
    # A remote key set is fetched once, after every option has been checked (so a usage error
    # never costs a network round trip): an unreachable or refused key set is a configuration
    # error (exit 2), not a refused token. The same source then serves the whole batch.
    refresh = getattr(keys, "refresh", None)
    if refresh is None:
        return
    try:
        refresh()
    except JWTWardenError as exc:
        usage_error(f"cannot fetch the key set: {exc.detail} [{exc.code}]")


def _one_algorithm(algorithms: Sequence[str], what: str, default: str | None = None) -> str:
    if len(set(algorithms)) > 1:
        usage_error(f"{what} is one key: name its one algorithm with --algorithm")
    if algorithms:
        return algorithms[0]
    if default is None:
        usage_error(f"{what} carries no algorithm: name it with --algorithm (e.g. RS256, ES256)")
    return default


class OneKey:
    """The one key given by ``--pem`` or ``--secret-file``: it verifies whatever ``kid`` the
    token names. The user chose this key; a ``kid`` only helps pick among several (RFC 7515
    4.1.4), and the PEM or secret carries none to compare with. The algorithm stays pinned."""

    __slots__ = ("key",)

    def __init__(self, keys: KeySet) -> None:
        (self.key,) = keys

    def select(self, kid: str | None, alg: str) -> Key:
        if alg != self.key.alg:
            raise AlgorithmNotAllowedError(f"the key is pinned to {self.key.alg}, not {alg}")
        return self.key


def default_algorithms(keys: KeySet | KeySource) -> list[str]:
    """The algorithms of the keys, when no ``--algorithm`` names them; exit 2 for remote keys."""
    if isinstance(keys, OneKey):
        return [keys.key.alg]
    if not isinstance(keys, KeySet):
        usage_error("name the algorithms with --algorithm (a remote key set can change)")
    return sorted(keys.algorithms)


def _secret_keys(raw: bytes, algorithms: Sequence[str]) -> KeySet:
    # The file holds the secret's raw bytes; one trailing newline (echo > file) is not part of
    # it. Strength floors hold (KeySet.from_secret): at least the hash's length in bytes.
    secret = raw[:-1] if raw.endswith(b"\n") else raw
    return KeySet.from_secret(secret, algorithm=_one_algorithm(algorithms, "a secret", "HS256"))


def _load_key_file(raw: bytes, path: Path, algorithms: Sequence[str], *, pem_only: bool) -> KeySet:
    # One bounded read; the bytes are parsed from memory (never opened a second time).
    if raw.lstrip().startswith(b"-----BEGIN"):
        return KeySet.from_pem(raw, algorithm=_one_algorithm(algorithms, f"the PEM file {path}"))
    if pem_only:
        raise InvalidKeyError(f"{path} is not PEM (no -----BEGIN line); a JWK Set goes to --jwks")
    # Keys with an alg keep it (the policy's allowlist decides whether it is accepted); keys
    # without one are pinned to the one --algorithm their type fits (KeySet.from_jwks).
    return KeySet.from_jwks(raw, algorithm=tuple(algorithms) or None)


def _httpx_available() -> bool:
    return importlib.util.find_spec("httpx") is not None


# --- the key-source options, defined once for verify and inspect -----------------------------
JWKSOption = Annotated[
    Path | None,
    typer.Option("--jwks", help="The trusted keys: a JWK Set, a JWK or a PEM file."),
]
PEMOption = Annotated[
    Path | None,
    typer.Option("--pem", help="The trusted key as a PEM file (public key or certificate)."),
]
SecretFileOption = Annotated[
    Path | None,
    typer.Option(
        "--secret-file",
        help="The HMAC secret: a file of its raw bytes (at least 32 for HS256).",
    ),
]
JWKSURLOption = Annotated[
    str | None, typer.Option("--jwks-url", help="The trusted keys at an https URL.")
]
DiscoveryOption = Annotated[
    str | None,
    typer.Option("--discovery", help="Find the keys through the issuer's OpenID metadata."),
]
AllowLoopbackOption = Annotated[
    bool,
    typer.Option(
        "--allow-loopback-http",
        help="Development only: fetch keys over http from this machine (127.0.0.1).",
    ),
]
AlgorithmOption = Annotated[
    list[str] | None,
    typer.Option(
        "--algorithm",
        help="An allowed algorithm, e.g. ES256 (repeatable; default: those of the keys).",
    ),
]

# The one definition of the flag, shared by verify and inspect.
RequireClientIdOption = Annotated[
    bool,
    typer.Option(
        "--require-client-id/--no-require-client-id",
        help="--profile access: require RFC 9068's client_id (some issuers omit it).",
    ),
]


def build_policy(
    keys: KeySet | KeySource,
    *,
    issuer: str,
    audiences: Sequence[str],
    typ: str | None = None,
    algorithms: Sequence[str] = (),
    leeway: float = 30.0,
    max_age: float | None = None,
    require: Sequence[str] = (),
    profile: str = "generic",
    require_client_id: bool = True,
) -> VerificationPolicy:
    """A ``VerificationPolicy`` from command-line options; exits with code 2 if it is unsafe.

    Algorithms default to those of the keys in the set. ``--profile access`` and ``id`` use
    the ready-made profiles; otherwise a generic policy, with ``--type`` as its ``typ``.
    ``--require`` adds claims to the profile's required ones (it never removes ``exp``).
    ``--no-require-client-id`` relaxes RFC 9068's ``client_id`` for issuers that omit it.
    """
    if profile not in PROFILES:
        usage_error(f"--profile must be one of {', '.join(PROFILES)}, not {profile!r}")
    if isinstance(keys, KeySet) and not len(keys):
        usage_error("the key set has no keys (an empty 'keys' list): nothing could verify")
    if not algorithms:
        algorithms = default_algorithms(keys)
    if profile != "generic" and typ is not None:
        usage_error(f"--type is fixed by --profile {profile}; drop one of them")
    if not require_client_id and profile != "access":
        usage_error("--no-require-client-id goes with --profile access (RFC 9068 client_id)")
    common: dict[str, Any] = {
        "algorithms": list(algorithms),
        "issuer": issuer,
        "audience": list(audiences),
        "keys": keys,
        "leeway": leeway,
        "max_age": max_age,
    }
    try:
        if profile == "access":
            policy = VerificationPolicy.access_token(**common, require_client_id=require_client_id)
        elif profile == "id":
            policy = VerificationPolicy.id_token(**common)
        else:
            policy = VerificationPolicy(typ=typ, **common)
        if require:
            required = frozenset(policy.required_claims) | frozenset(require)
            policy = dataclasses.replace(policy, required_claims=required)
    except (ValueError, TypeError) as exc:
        usage_error(f"unsafe or invalid policy: {exc}")
    except JWTWardenError as exc:  # pragma: no cover - policies raise ValueError/TypeError
        usage_error(f"{exc.detail} [{exc.code}]")
    warm_up(keys)
    return policy
