"""The public surface of the remote key set package and the integrations, asserted by name."""

from __future__ import annotations

import importlib
import inspect

import pytest

SURFACES = {
    "jwtwarden.jwks": [
        "CachePolicy",
        "FetchLimits",
        "JWKSStats",
        "RemoteJWKS",
        "SSRFGuard",
        "Target",
        "TrustedJKU",
        "address_refusal",
        "discovery_url",
        "issuers_from_discovery",
    ],
    "jwtwarden.integrations": [],
    "jwtwarden.integrations.starlette": [
        "BearerAuthMiddleware",
        "BearerTokenBackend",
        "TokenUser",
        "refusal_response",
    ],
    "jwtwarden.integrations.fastapi": ["require_token"],
    "jwtwarden.integrations.flask": ["EXTENSION_KEY", "JWTWarden", "require_token"],
    "jwtwarden.integrations.httpx_auth": ["RefreshStats", "RefreshingAuth", "TokenPair"],
}


@pytest.mark.parametrize("module_name", sorted(SURFACES))
def test_should_export_exactly_the_documented_names(module_name: str):
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(SURFACES[module_name])
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{module_name}.{name} has no docstring"
