"""``jwtwarden serve`` as the web app's OpenID provider, started by a test on 127.0.0.1.

Development mode (SQLite, development keys) in a temporary folder; an account and a client
are registered through the CLI exactly as the README shows it (``jwtwarden users create``,
``jwtwarden clients create --json``), then the server runs as a subprocess until the test ends.
The server's own log is kept, and quoted when it does not start.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.server.support import ServerProcess, serve_with_client

__all__ = ["PASSWORD", "HostedProvider", "jwtwarden_provider"]

PASSWORD = "correct horse battery staple 42"


@dataclass
class HostedProvider:
    """A running ``jwtwarden serve``: its issuer, the registered client and account."""

    issuer: str
    client_id: str
    client_secret: str | None
    email: str
    server: ServerProcess
    env: dict[str, str]

    def openid_configuration(self) -> httpx.Response:
        return httpx.get(self.issuer + "/.well-known/openid-configuration", trust_env=False)

    def log(self) -> str:
        return self.server.log()


@contextmanager
def jwtwarden_provider(
    app_base: str,
    *,
    confidential: bool = True,
    access_token_ttl: int | None = None,
    audience: str | None = None,
    email: str = "alice@example.test",
) -> Iterator[HostedProvider]:
    """Register an account and a client for the web app at ``app_base`` and serve.

    The client may use the authorization code and refresh grants, asks ``openid email
    profile``, and redirects to ``app_base/callback`` (and ``app_base/`` after sign-out).
    ``access_token_ttl``: the client's (the server allows 300 s at least: tests that cross a
    refresh set the web app's ``refresh_margin`` close to it instead of waiting).
    """
    create = [
        "--name", "web app",
        "--type", "confidential" if confidential else "public",
        "--redirect-uri", f"{app_base}/callback",
        "--post-logout-redirect-uri", f"{app_base}/",
        "--grant", "authorization_code", "--grant", "refresh_token",
        "--scope", "openid", "--scope", "email", "--scope", "profile",
    ]  # fmt: skip
    env: dict[str, str] = {}
    if audience is not None:
        env["JWTWARDEN_AUDIENCE"] = audience  # the server serves it; the client gets it
        create += ["--audience", audience]
    if access_token_ttl is not None:
        create += ["--access-token-ttl", str(access_token_ttl)]
    with (
        tempfile.TemporaryDirectory(prefix="jwtwarden-serve-") as tmp,
        serve_with_client(Path(tmp), (email, PASSWORD), create, env) as (server, client),
    ):
        yield HostedProvider(
            issuer=server.base_url,
            client_id=client["client_id"],
            client_secret=client.get("client_secret"),
            email=email,
            server=server,
            env=server.env,
        )
