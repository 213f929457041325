"""The code examples of docs/webapp.md, run as written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from fastapi import Depends, FastAPI

from jwtwarden import FixedClock
from jwtwarden.webapp import SESSION_COOKIE, WebUser
from jwtwarden.webapp.jar import store_key
from jwtwarden.webapp.starlette import require_user

from ._offline import BASE, Offline

DOC = Path(__file__).resolve().parents[2] / "docs" / "webapp.md"


def _block(after_heading: str) -> str:
    text = DOC.read_text().split(after_heading, 1)[1]
    return text.split("```python\n", 1)[1].split("```", 1)[0]


async def test_should_run_the_server_side_sessions_example(redis_url: str) -> None:
    offline = Offline(FixedClock(1_900_000_000))
    app = FastAPI()
    namespace: dict[str, Any] = {
        "REDIS_URL": redis_url,
        "settings": offline.rp.settings,
        "app": app,
    }
    exec(compile(_block("## Server-side sessions (Redis)"), str(DOC), "exec"), namespace)
    rp = namespace["rp"]
    rp._provider = offline.rp._provider  # the provider discovered already (no network)

    @app.get("/me")
    async def me(user: WebUser = Depends(require_user)) -> dict[str, Any]:
        return {"email": user.email}

    session = offline.session()
    check = aioredis.Redis.from_url(redis_url)
    key = "myapp:web:" + store_key(session.sid)
    try:
        cookie, _ = await rp.aseal_session(session)
        assert await check.exists(key) == 1
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
            response = await client.get("/me", headers=headers)
            assert response.json() == {"email": "alice@example.test"}
            await rp.adelete_session(session.sid)
            assert (await client.get("/me", headers=headers)).status_code == 303
    finally:
        await check.delete(key)
        await check.aclose()
        await namespace["store"].client.aclose()
