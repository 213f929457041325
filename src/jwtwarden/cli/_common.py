"""Shared pieces of the ``verify`` and ``inspect`` commands: exit codes, usage errors, and the
one place where a key source and a policy are built from command-line options.

Configuration problems (an unreadable or refused key set, an unsafe policy, a bad option) exit
with code 2 and a one-line message on stderr; they never look like a refused token (exit 1).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ..errors import InvalidKeyError, JWTWardenError, KeyRejectedError
from ..keys.keyset import KeySet
from ..policy import VerificationPolicy
from ..verify import KeySource
from ._input import MAX_KEY_FILE, InputRefused, read_regular_file

__all__ = [
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "PROFILES",
    "build_key_source",
    "build_policy",
    "usage_error",
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
    algorithm: str | None,
) -> KeySet | KeySource:
    """The trusted keys named on the command line: exactly one of ``--jwks PATH`` (a JWK Set,
    a single JWK or a PEM file), ``--jwks-url URL`` or ``--discovery ISSUER``.

    ``algorithm`` pins keys that carry no ``alg`` of their own (and every PEM key).
    Exits with code 2 (``usage_error``) when the source cannot be built.

    Example:
        >>> keys = build_key_source(Path("jwks.json"), None, None, False, None)  # doctest: +SKIP
    """
    given = [
        name
        for name, v in (("--jwks", jwks_path), ("--jwks-url", jwks_url), ("--discovery", discovery))
        if v
    ]
    if len(given) != 1:
        usage_error("give exactly one of --jwks PATH, --jwks-url URL or --discovery ISSUER")
    if jwks_path is not None:
        try:
            return _load_key_file(jwks_path, algorithm)
        except OSError as exc:
            usage_error(f"cannot read the key set {str(jwks_path)!r}: {exc.strerror or exc}")
        except InputRefused as exc:
            usage_error(str(exc))
        except KeyRejectedError as exc:
            usage_error(f"the key set {str(jwks_path)!r} is refused: {exc.detail} [{exc.code}]")
    return _remote_key_source(jwks_url, discovery, allow_loopback_http, algorithm)


def _remote_key_source(
    jwks_url: str | None, discovery: str | None, allow_loopback_http: bool, algorithm: str | None
) -> KeySource:
    if not _httpx_available():
        usage_error("remote JWKS needs jwtwarden[remote] (pip install 'jwtwarden[remote]')")
    from ..jwks import RemoteJWKS

    options: dict[str, Any] = {"allow_loopback_http": allow_loopback_http, "algorithm": algorithm}
    try:
        if jwks_url is not None:
            source = RemoteJWKS(jwks_url, **options)
        else:
            source = RemoteJWKS.from_discovery(str(discovery), **options)
    except (ValueError, TypeError) as exc:
        usage_error(f"the key set URL is refused: {exc}")
    return source


def _warm_up(keys: KeySet | KeySource) -> None:
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


def _load_key_file(path: Path, algorithm: str | None) -> KeySet:
    # One bounded read; the bytes are parsed from memory (never opened a second time).
    raw = read_regular_file(path, MAX_KEY_FILE, "key set")
    if raw.lstrip().startswith(b"-----BEGIN"):
        if algorithm is None:
            raise InvalidKeyError(f"{path} is PEM: name its algorithm")
        return KeySet.from_pem(raw, algorithm=algorithm)
    if algorithm is None:
        return KeySet.from_jwks(raw)
    # --algorithm pins only the keys that name no algorithm of their own; a key that does keeps
    # it (and the policy's allowlist decides whether that algorithm is accepted).
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidKeyError("the key file is neither PEM nor JSON") from None
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        data = {
            **data,
            "keys": [
                {**k, "alg": algorithm} if isinstance(k, dict) and "alg" not in k else k
                for k in data["keys"]
            ],
        }
    elif isinstance(data, dict) and "alg" not in data:
        data = {**data, "alg": algorithm}
    return KeySet.from_jwks(data)


def _httpx_available() -> bool:
    return importlib.util.find_spec("httpx") is not None


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
    if not algorithms:
        if not isinstance(keys, KeySet):
            usage_error("name the algorithms with --algorithm (a remote key set can change)")
        algorithms = sorted(keys.algorithms)
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
    _warm_up(keys)
    return policy
