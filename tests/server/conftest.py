from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.stores.dbs import pg_schema

from .support import ServerProcess, clean_env, free_port, new_kek, run_cli

ORIGIN = "https://app.example.test"
INTROSPECTION = ("resource-server", "s" * 24 + secrets.token_urlsafe(24))
ADMIN = ("admin@example.test", "admin password " + secrets.token_urlsafe(8))


@dataclass
class Deployment:
    kind: str
    env: dict[str, str]
    server: ServerProcess
    tmp: Path
    admin_token: str = ""
    extra: list[ServerProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.base_url

    def start_another(self) -> ServerProcess:
        port = free_port()
        other = ServerProcess(self.env, port, self.tmp / f"server-{port}.log")
        self.extra.append(other)
        other.wait_ready()
        return other


def _base_env(tmp: Path, issuer: str) -> dict[str, str]:
    return {
        "JWTWARDEN_DATA_DIR": str(tmp / "data"),
        "JWTWARDEN_ISSUER": issuer,
        "JWTWARDEN_ALLOWED_ORIGINS": ORIGIN,
        "JWTWARDEN_INTROSPECTION_CLIENT_ID": INTROSPECTION[0],
        "JWTWARDEN_INTROSPECTION_CLIENT_SECRET": INTROSPECTION[1],
        "JWTWARDEN_RATE_LIMIT_LOGIN_ACCOUNT": "5",
        "JWTWARDEN_RATE_LIMIT_LOGIN_ADDRESS": "100000",
        "JWTWARDEN_RATE_LIMIT_WINDOW": "600",
        "JWTWARDEN_KEY_REFRESH_INTERVAL": "1",
        "JWTWARDEN_SCOPES": "read,write",
        # Every account may have read and write (issue 15: scopes come from roles).
        "JWTWARDEN_ROLES": '{"member": ["read", "write"]}',
        "JWTWARDEN_DEFAULT_ROLES": "member",
    }


async def _flush_redis(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp(f"e2e-{request.param}")
    port = free_port()
    env = _base_env(tmp, f"http://127.0.0.1:{port}")
    redis_prefix = None
    with (
        pg_schema(request.getfixturevalue("postgres_url"), migrate=False)
        if (request.param == "postgresql")
        else _nothing() as db
    ):
        if db is not None:
            redis_url = request.getfixturevalue("redis_url")
            redis_prefix = f"jwtwarden-e2e-{secrets.token_hex(4)}:"
            env.update(
                {
                    # A production-like deployment: KEK, keys in the database, Redis.
                    "JWTWARDEN_ENVIRONMENT": "production",
                    "JWTWARDEN_KEK": new_kek(),
                    "JWTWARDEN_DATABASE_URL": db.url,
                    "JWTWARDEN_DATABASE_SCHEMA": db.schema or "",
                    "JWTWARDEN_REDIS_URL": redis_url,
                    "JWTWARDEN_REDIS_PREFIX": redis_prefix,
                }
            )
        env = clean_env(env)
        if db is not None:
            done = run_cli(["db", "upgrade"], env)
            assert done.returncode == 0, done.stderr
        made = run_cli(
            ["users", "create", ADMIN[0], "--password-stdin", "--admin", "--create-database"],
            env,
            stdin=ADMIN[1] + "\n",
        )
        assert made.returncode == 0, made.stderr
        server = ServerProcess(env, port, tmp / "server.log")
        deployed = Deployment(request.param, env, server, tmp)
        try:
            server.wait_ready()
            login = httpx.post(
                deployed.url + "/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}
            )
            assert login.status_code == 200, login.text
            deployed.admin_token = login.json()["access_token"]
            yield deployed
        finally:
            for proc in [server, *deployed.extra]:
                proc.stop()
            if redis_prefix is not None:
                with ThreadPoolExecutor(1) as pool:
                    pool.submit(
                        asyncio.run, _flush_redis(env["JWTWARDEN_REDIS_URL"], redis_prefix)
                    ).result()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
