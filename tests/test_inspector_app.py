"""The inspector as the server mounts it: off by default, pasted JWK Sets only when on."""

from __future__ import annotations

import httpx
import pytest
from starlette.routing import Mount

from jwtwarden.inspector import inspector_app
from jwtwarden.server.app import create_app
from jwtwarden.server.settings import Settings


def _mounted(app) -> list[str]:
    return [r.path for r in app.router.routes if isinstance(r, Mount)]


def test_should_not_serve_the_inspector_unless_enabled(tmp_path):
    assert _mounted(create_app(Settings(data_dir=tmp_path))) == []
    assert _mounted(create_app(Settings(data_dir=tmp_path, inspector=True))) == ["/inspect"]


@pytest.mark.asyncio
async def test_should_never_fetch_an_issuer_when_mounted_in_the_server():
    transport = httpx.ASGITransport(app=inspector_app(allow_remote=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.post(
            "/",
            data={"token": "e30.e30.", "issuer": "https://127.0.0.1:1", "audience": "api"},
        )
    assert answer.status_code == 200
    assert "this inspector fetches nothing" in answer.text
