"""Run in the validators' own environment (requirements.txt): read a JSON list of discovery
documents on stdin, write a JSON list of verdicts on stdout, one per document:
``{"oic": {"accepted": true}, "idpyoidc": {...}, "mcp": {"accepted": false, "error": "..."}}``.

- oic and idpyoidc: ``ProviderConfigurationResponse(**document).verify()``, their checks of an
  OpenID Provider Configuration Response (Discovery 1.0 section 4.2: required members, types,
  an https issuer without query or fragment, ``openid`` among the scopes);
- the MCP SDK (``mcp.shared.auth.OAuthMetadata``): the RFC 8414 section 2 metadata an MCP client
  reads before it signs in, as a pydantic model (URL members, list members).

Nothing here decides for the tests: each library's own verdict is passed on with its error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


# Each library's refusal, and only that: any other exception is a crash of the library (or of
# this script), which fails the process and so the test, with its traceback.
def _oic(document: dict[str, Any]) -> None:
    from oic.exception import PyoidcError
    from oic.oic.message import ProviderConfigurationResponse

    try:
        if ProviderConfigurationResponse(**document).verify() is not True:
            raise Refused("verify() did not return True")
    except (PyoidcError, AssertionError) as exc:  # verify() asserts "openid" in scopes
        raise Refused(f"{type(exc).__name__}: {exc}") from exc


def _idpyoidc(document: dict[str, Any]) -> None:
    from idpyoidc.exception import OidcMsgError
    from idpyoidc.message.oidc import ProviderConfigurationResponse

    try:
        if ProviderConfigurationResponse(**document).verify() is not True:
            raise Refused("verify() did not return True")
    except OidcMsgError as exc:
        raise Refused(f"{type(exc).__name__}: {exc}") from exc


def _mcp(document: dict[str, Any]) -> None:
    from mcp.shared.auth import OAuthMetadata
    from pydantic import ValidationError

    try:
        OAuthMetadata.model_validate(document)
    except ValidationError as exc:
        raise Refused(f"{type(exc).__name__}: {exc}") from exc


class Refused(Exception):
    """A validator's verdict against the document, with the library's error."""


VALIDATORS: dict[str, Callable[[dict[str, Any]], None]] = {
    "oic": _oic,
    "idpyoidc": _idpyoidc,
    "mcp": _mcp,
}


def verdict(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, validate in VALIDATORS.items():
        try:
            validate(document)
        except Refused as exc:
            out[name] = {"accepted": False, "error": str(exc)}
        else:
            out[name] = {"accepted": True}
    return out


def main() -> None:
    documents = json.load(sys.stdin)
    json.dump([verdict(document) for document in documents], sys.stdout)


if __name__ == "__main__":
    main()
