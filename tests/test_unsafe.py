"""``jwtwarden.unsafe``: decoding without verifying, under a name that says so, and never on a
path that grants access.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import jwtwarden
from jwtwarden.errors import InvalidTokenError
from jwtwarden.unsafe import UnverifiedToken, decode_unverified
from tests._verify_support import access_claims, forge, key_for, sign

SRC = Path(jwtwarden.__file__).resolve().parent
# The only modules that may import the unverified decoder: inspection and the CLI that renders
# it. Anything else importing it is a path that could grant access on unverified claims.
ALLOWED_IMPORTERS = {
    "jwtwarden.unsafe",
    "jwtwarden.explain",
    # The client side (RefreshingAuth's refresh exchange): reads the exp of the access token
    # it holds, to schedule a refresh.
    # It grants nothing; the API it calls verifies the token.
    "jwtwarden.integrations._token_exchange",
    # private_key_jwt: the assertion's sub only names the client whose keys then verify it
    # (like a kid); iss = sub = client_id is checked on the verified claims.
    "jwtwarden.oauth.client_assertions",
}
ALLOWED_PACKAGES = ("jwtwarden.cli.",)


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports_unsafe(path: Path, module: str) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(alias.name == "jwtwarden.unsafe" for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "jwtwarden.unsafe":
                return True
            if base == "jwtwarden" and any(a.name == "unsafe" for a in node.names):
                return True
    return False


def test_should_decode_a_token_without_checking_anything() -> None:
    stranger = key_for("ES256", "stranger")
    token = sign(access_claims(exp=1, aud="someone-else"), stranger)
    decoded = decode_unverified(token)
    assert isinstance(decoded, UnverifiedToken)
    assert decoded.claims == access_claims(exp=1, aud="someone-else")
    assert decoded.header["kid"] == stranger.kid
    assert decoded.signing_input == token.rsplit(".", 1)[0].encode()
    assert len(decoded.signature) == 64


def test_should_keep_a_non_json_payload_as_bytes_with_claims_none() -> None:
    key = key_for("ES256")
    decoded = decode_unverified(forge({"alg": "ES256"}, b"\x00\x01raw", key))
    assert decoded.claims is None
    assert decoded.payload == b"\x00\x01raw"


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("a.b.c.d.e", "unsupported_serialization"),
        ('{"payload": "e30"}', "unsupported_serialization"),
        ("x" * 70000, "token_too_large"),
        ("a.b", "malformed"),
    ],
)
def test_should_refuse_what_is_not_a_compact_jws_with_the_verifier_s_codes(
    token: str, code: str
) -> None:
    with pytest.raises(InvalidTokenError) as info:
        decode_unverified(token)
    assert info.value.code == code


def test_should_refuse_a_header_that_is_not_strict_json() -> None:
    key = key_for("ES256")
    with pytest.raises(InvalidTokenError) as info:
        decode_unverified(forge(b'{"alg":"ES256","alg":"none"}', b"{}", key))
    assert info.value.code == "malformed"


def test_should_never_be_imported_by_the_verifier_or_any_access_path() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        if module in ALLOWED_IMPORTERS or module.startswith(ALLOWED_PACKAGES):
            continue
        if _imports_unsafe(path, module):
            offenders.append(module)
    assert offenders == []


@pytest.mark.parametrize(
    ("source", "module", "found"),
    [
        ("from .unsafe import decode_unverified\n", "jwtwarden.probe", True),
        ("from .. import unsafe\n", "jwtwarden.server.probe", True),
        ("from ..unsafe import decode_unverified\n", "jwtwarden.server.probe", True),
        ("import jwtwarden.unsafe\n", "jwtwarden.probe", True),
        ("from jwtwarden import unsafe\n", "jwtwarden.probe", True),
        ("from jwtwarden.unsafe import decode_unverified\n", "jwtwarden.probe", True),
        ("from .verify import Verifier\n", "jwtwarden.probe", False),
        ("from . import verify\n", "jwtwarden.probe", False),
    ],
)
def test_should_detect_every_spelling_of_an_import_of_unsafe(
    tmp_path: Path, source: str, module: str, found: bool
) -> None:
    # The scanner above must be able to fail, whatever import style a module uses.
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    assert _imports_unsafe(probe, module) is found


def test_should_not_be_reachable_from_the_public_verifier_names() -> None:
    assert callable(decode_unverified) and decode_unverified.__module__ == "jwtwarden.unsafe"
    assert "Verifier" in jwtwarden.__all__ and hasattr(jwtwarden, "Verifier")
    assert "decode_unverified" not in jwtwarden.__all__
    assert not hasattr(jwtwarden, "decode_unverified")
