"""The sessions around the Python examples of README.md and docs/ (tests/test_docs_examples.py):
per file, the names its prose introduces before a block (``PRELUDES``) and the results its
prose promises at the end (``OUTCOMES``)."""

from __future__ import annotations

import datetime
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jwtwarden import KeySet, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.keys.key import Key
from tests.server.support import new_kek

__all__ = ["OUTCOMES", "PRELUDES", "access_token"]

ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com"


def access_token(key: Key, issuer: str = ISSUER, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "exp": now + 600,
        "jti": secrets.token_urlsafe(8),
        "client_id": "app",
        **claims,
    }
    return sign_compact({"typ": "at+jwt"}, body, key)


def _readme(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    key = generate_key("ES256", token_use="access")
    (tmp / "jwks.json").write_text(json.dumps(KeySet([key]).public_jwks()))
    monkeypatch.setenv("JWTWARDEN_KEK", new_kek())
    return {"raw_token": access_token(key)}


class _KV:
    """The stand-in secrets client of keys-and-issuing.md's VaultKeyStore (list, read,
    write, destroy), holding the secrets in a dict: the doc says the example ran over one."""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], Any] = {}

    def list(self, mount: str, prefix: str) -> list[str]:
        return [p.rsplit("/", 1)[1] for m, p in self.secrets if m == mount and p.startswith(prefix)]

    def read(self, mount: str, path: str) -> Any:
        return json.loads(json.dumps(self.secrets[mount, path]))

    def write(self, mount: str, path: str, value: Any) -> None:
        self.secrets[mount, path] = json.loads(json.dumps(value))

    def destroy(self, mount: str, path: str) -> None:
        self.secrets.pop((mount, path), None)


def _keys_and_issuing(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("JWTWARDEN_KEK", new_kek())
    return {
        "private_jwk": generate_key("ES256").export_private_jwk(),
        "client": _KV(),
    }


class _Users:
    def auth_version(self, sub: str) -> int | None:
        return {"alice": 1}.get(sub)


def _verifying(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import logging

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    from jwtwarden import import_jwk

    key = generate_key("ES256", token_use="access")
    a_key, b_key = generate_key("ES256", kid="a-1"), generate_key("RS256", kid="b-1")
    hmac_key = generate_key("HS256", kid="h-1")
    pem = key.public_key().jwk.as_pem(private=False)
    native = serialization.load_pem_public_key(pem)
    private_native = generate_ec_private()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auth")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_native.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(2024, 1, 1))
        .not_valid_after(datetime.datetime(2034, 1, 1))
        .sign(private_native, hashes.SHA256())
    )
    del native
    token = access_token(key)
    return {
        "jwks_json": json.dumps(KeySet([key]).public_jwks()),
        "token": token,
        "token_exp": int(time.time()) + 600,
        "log": logging.getLogger("docs_example"),
        "hmac_key": hmac_key,
        "jws": sign_compact({}, {"payload": "anything"}, hmac_key),
        "public_pem": pem,
        "certificate_pem": certificate.public_bytes(serialization.Encoding.PEM),
        "a_public": a_key.public_key(),
        "b_public": b_key.public_key(),
        "token_from_b": sign_compact(
            {},
            {"iss": "https://b.example.com", "aud": "api", "sub": "bob", "exp": _in(60)},
            b_key,
        ),
        "denied": {"jti-1"},
        "known_accounts": {"alice"},
        "users": _Users(),
        "import_jwk": import_jwk,
        "ec_x": key.public_jwk()["x"],
        "ec_y": key.public_jwk()["y"],
    }


def _in(seconds: int) -> int:
    return int(time.time()) + seconds


def generate_ec_private() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _webapp(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from jwtwarden.webapp import WebAppSettings

    new, old = secrets.token_bytes(32), secrets.token_bytes(32)
    settings = WebAppSettings(
        issuer="https://id.example.com",
        client_id="app",
        client_secret=secrets.token_urlsafe(32),
        base_url="https://app.example.com",
        session_secrets=[new, old],
    )
    return {
        "secret": secrets.token_urlsafe(32),
        "new": new,
        "old": old,
        "settings": settings,  # the first block's settings, named
        "REDIS_URL": "redis://127.0.0.1:6379/11",  # the tests' database; never connected here
    }


PreludeFn = Callable[[Path, pytest.MonkeyPatch], dict[str, Any]]
PRELUDES: dict[str, PreludeFn] = {
    "README.md": _readme,
    "docs/keys-and-issuing.md": _keys_and_issuing,
    "docs/verifying.md": _verifying,
    "docs/webapp.md": _webapp,
}
# A few results each file's prose promises, read from the session's namespace at its end.
OUTCOMES: dict[str, dict[str, Callable[[Any], bool]]] = {
    "README.md": {
        "user_id": lambda sub: sub == "alice",
        "token": lambda token: token.count(".") == 2,  # the minted one
        "app": lambda app: [r.path for r in app.routes][-1] == "/items",
    },
    "docs/keys-and-issuing.md": {
        "policy": lambda policy: (
            policy.profile == "access" and list(policy.algorithms) == ["ES256"]
        ),
        "claims": lambda claims: claims["sub"] == "user-42",
    },
    "docs/resource-servers.md": {
        "guard": lambda guard: guard is not None,
        "can_read": callable,
    },
    "docs/verifying.md": {
        "result": lambda result: result.payload == b'{"payload":"anything"}',
        "status_of": lambda status_of: status_of("not a token") == 401,
        "refusal": lambda refusal: (
            refusal(algorithms=["none"]) == "the 'none' algorithm is never allowed"
            and refusal(algorithms=["HS256"])
            == "the key set of 'https://a' has no key for the allowed algorithms (HS256)"
            and refusal() is None
        ),
        # A function of the session sees the session's names as its globals.
        "key_refusal": lambda key_refusal: (
            key_refusal(KeySet.from_pem, key_refusal.__globals__["public_pem"], algorithm="RS256")
            == "RS256 needs a RSA key, not EC"
        ),
        "keys": lambda keys: len(keys) == 1,
    },
    "docs/webapp.md": {"app": lambda app: "/me" in [r.path for r in app.routes]},
}
