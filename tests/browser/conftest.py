"""Browser tests: Playwright for Python driving Debian's Chromium (``/usr/bin/chromium``,
never a browser download), headless, against the example app and a provider started by the
tests on 127.0.0.1.

Without Chromium or Playwright the tests skip locally and fail under ``CI=true``
(``scripts/test`` installs Debian's ``chromium`` when it is missing). Every request to a host
other than loopback is aborted, so a page can never reach the Internet. Screenshots go to
``tests/browser/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.jwks._servers import free_port, wait_until
from tests.peers.oidc_provider import PeerProvider, oidc_provider, web_client

CHROMIUM = Path(os.environ.get("JWTWARDEN_TEST_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI", "").lower() == "true"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ACCESS_TOKEN_TTL = 8
REFRESH_MARGIN = 2
API = "https://api.example"

pytestmark = pytest.mark.browser


def _need(problem: str | None) -> None:
    if problem is None:
        return
    if IN_CI:
        pytest.fail(problem + " (CI=true, so this is a failure, not a skip)")
    pytest.skip(problem)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope, not session: Playwright's sync API keeps an event loop running in the main
    # thread while it is open, and every later asyncio.run of the suite would fail.
    _need(None if CHROMIUM.is_file() else f"Chromium is not installed at {CHROMIUM}")
    _need(
        None
        if importlib.util.find_spec("playwright")
        else "playwright is not installed (pip install playwright; never `playwright install`)"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def _loopback_only(route: Any) -> None:
    host = urlsplit(route.request.url).hostname
    if host in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context()
    ctx.route("**/*", _loopback_only)
    try:
        yield ctx
    finally:
        ctx.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class Site:
    """The example app and its provider, as the tests see them."""

    base: str
    provider: PeerProvider
    client_id: str
    client_secret: str
    session_secret: str


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop(spec.name, None)
    spec.loader.exec_module(module)
    return module


@contextmanager
def serve(app: Any, port: int) -> Iterator[None]:
    """``app`` behind uvicorn on 127.0.0.1:``port`` in a thread."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            loop="asyncio",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, "uvicorn to start")
        yield
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def serve_wsgi(app: Any, port: int) -> Iterator[None]:
    """A WSGI ``app`` behind werkzeug's threaded server on 127.0.0.1:``port``."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """oidc-provider (JWT access tokens for ``API``, living ACCESS_TOKEN_TTL seconds, rotating
    refresh tokens) and examples/webapp.py behind uvicorn, configured by its WEBAPP_* variables."""
    yield from _site(monkeypatch, "webapp", serve)


@pytest.fixture
def flask_site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The same, with examples/webapp_flask.py behind werkzeug."""
    yield from _site(monkeypatch, "webapp_flask", serve_wsgi)


def configure_webapp(
    monkeypatch: pytest.MonkeyPatch,
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    base: str,
    session_secret: str,
    refresh_margin: int,
) -> None:
    """The example app's WEBAPP_* variables: its provider and client, its own base URL and
    session secret, the API audience, the refresh margin, and plain http on loopback."""
    for name, value in {
        "WEBAPP_ISSUER": issuer,
        "WEBAPP_CLIENT_ID": client_id,
        "WEBAPP_CLIENT_SECRET": client_secret,
        "WEBAPP_BASE_URL": base,
        "WEBAPP_SESSION_SECRET": session_secret,
        "WEBAPP_AUDIENCE": API,
        "WEBAPP_REFRESH_MARGIN": str(refresh_margin),
        "WEBAPP_ALLOW_LOOPBACK_HTTP": "1",
    }.items():
        monkeypatch.setenv(name, value)


def _site(monkeypatch: pytest.MonkeyPatch, example: str, server: Any) -> Iterator[Site]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(32)
    config = {
        "clients": [web_client(base, secret)],
        "resource": API,
        "accessTokenTTL": ACCESS_TOKEN_TTL,
        "accounts": {"alice": {"email": "alice@example.test", "name": "Alice"}},
    }
    with oidc_provider(config) as provider:
        session_secret = secrets.token_urlsafe(32)
        configure_webapp(
            monkeypatch,
            issuer=provider.issuer,
            client_id="webapp",
            client_secret=secret,
            base=base,
            session_secret=session_secret,
            refresh_margin=REFRESH_MARGIN,
        )
        app = load_example(example).app
        with server(app, port):
            yield Site(base, provider, "webapp", secret, session_secret)
