"""The auth server in process (ASGI transport, SQLite in a temporary directory)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from jwtwarden.server.app import create_app
from jwtwarden.server.settings import Settings

from ..server.support import App as BaseApp

PASSWORD = "a perfectly long password"
ORIGIN = "https://app.example.test"
USER = "ada@example.test"
ADMIN = "root@example.test"
INTROSPECTION = ("rs", "s" * 40)


class App(BaseApp):
    """A started app with a user and an admin; ``login`` opens a session."""

    async def login(self, email: str = USER, **kwargs: Any) -> dict[str, Any]:
        async with self.client() as c:
            r = await c.post("/auth/login", json={"email": email, "password": PASSWORD}, **kwargs)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


AppFactory = Callable[..., Any]


@pytest.fixture
def make_app(tmp_path: Path) -> AppFactory:
    """``async with make_app(**settings) as app``: a fresh server with a user and an admin."""

    @asynccontextmanager
    async def factory(**settings: Any) -> AsyncIterator[App]:
        defaults: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "allowed_origins": ORIGIN,
            "introspection_client_id": INTROSPECTION[0],
            "introspection_client_secret": INTROSPECTION[1],
            "rate_limit_login_account": 1000,
            "rate_limit_login_address": 100000,
            "scopes": ("read", "write"),
        }
        app = create_app(Settings(**{**defaults, **settings}))
        async with app.router.lifespan_context(app):
            wrapped = App(app)
            await wrapped.runtime.service.create_user(USER, PASSWORD)
            await wrapped.runtime.service.create_user(ADMIN, PASSWORD, is_admin=True)
            yield wrapped

    return factory


@pytest.fixture
async def server(make_app: AppFactory) -> AsyncIterator[App]:
    async with make_app() as app:
        yield app
