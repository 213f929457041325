"""Node's ``openid-client`` (an OpenID Certified relying party library, v6, exact version in
package.json) runs the whole authorization code flow against a real jwtwarden server on
127.0.0.1 (``code_flow.mjs``): discovery (RFC 8414), the authorization URL with PKCE, the
hosted sign-in as a browser submits it, the exchange (it checks ``state`` and RFC 9207
``iss``), refresh, introspection, revocation. Without node or the package these tests skip
locally and fail under ``CI=true``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from _flows import SCOPES_FROM_ROLES, run_flow
from tests.server.support import serve_with_client

REDIRECT = "https://rp.example.test/callback"
USER = ("rp-user@example.test", "a long and honest password")

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serve_with_client(
        tmp_path_factory.mktemp("openid-client"),
        USER,
        [
            "--name",
            "Node RP",
            "--redirect-uri",
            REDIRECT,
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--scope",
            "read",
        ],
        SCOPES_FROM_ROLES,
    ) as (process, client):
        yield {"url": process.base_url, "client": client}


def test_should_run_the_whole_code_flow_with_node_openid_client(server: dict[str, Any]) -> None:
    client = server["client"]
    done = run_flow(
        "code_flow.mjs",
        server["url"],
        client["client_id"],
        client["client_secret"],
        REDIRECT,
        *USER,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == {
        "authorization_endpoint": server["url"] + "/oauth/authorize",
        "page_status": 200,
        "signin_status": 303,
        "callback_iss": server["url"],
        "scope": "read",
        "has_refresh_token": True,
        "rotated": True,
        "active": True,
        "introspected_client_id": client["client_id"],
        "after_revocation": "invalid_grant",
    }
