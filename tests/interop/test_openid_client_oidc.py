"""Node's ``openid-client`` (OpenID Certified relying party library, v6) as an OpenID Connect
relying party of a real jwtwarden server on 127.0.0.1 (``oidc_flow.mjs``): Discovery 1.0, the
code flow with PKCE and nonce, ID token validation by openid-client and by ``jose`` through the
JWKS URL, userinfo, and RP-Initiated Logout, after which the tokens are dead. Without node or
the packages these tests skip locally and fail under ``CI=true``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from _flows import SCOPES_FROM_ROLES, run_flow
from tests.server.support import serve_with_client

REDIRECT = "https://rp.example.test/callback"
LOGOUT = "https://rp.example.test/signed-out"
USER = ("oidc-rp-user@example.test", "a long and honest password")

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serve_with_client(
        tmp_path_factory.mktemp("openid-client-oidc"),
        USER,
        [
            "--name",
            "Node OIDC RP",
            "--redirect-uri",
            REDIRECT,
            "--post-logout-redirect-uri",
            LOGOUT,
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
        ],
        SCOPES_FROM_ROLES,
    ) as (process, client):
        yield {"url": process.base_url, "client": client}


def test_should_run_discovery_code_flow_id_token_userinfo_and_logout_with_openid_client(
    server: dict[str, Any],
) -> None:
    client = server["client"]
    done = run_flow(
        "oidc_flow.mjs",
        server["url"],
        client["client_id"],
        client["client_secret"],
        REDIRECT,
        LOGOUT,
        *USER,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == {
        "end_session_endpoint": server["url"] + "/oauth/logout",
        "userinfo_endpoint": server["url"] + "/oauth/userinfo",
        "nonce_echoed": True,
        "aud": client["client_id"],
        "has_auth_time": True,
        "has_sid": True,
        "has_at_hash": True,
        "jose_alg": "RS256",
        "jose_sub_matches": True,
        "userinfo": {"email": USER[0], "email_verified": False, "sub_matches": True},
        "logout_status": 303,
        "logout_location": LOGOUT,
        "logout_state_echoed": True,
        "signin_cookie_cleared": True,
        "userinfo_after_logout": 401,
        "refresh_after_logout": "invalid_grant",
    }
