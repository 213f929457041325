"""CPU per operation inside one server process, without HTTP: the parts of each endpoint.

Run as a subprocess by ``run.py`` with the auth server's environment (``JWTWARDEN_*``) plus
``BENCH_SEED``, ``BENCH_FIRST`` and ``BENCH_COUNT`` (the bulk-loaded refresh tokens it may
spend). It builds the server's own ``Runtime`` (same settings, same pools) and times each part
sequentially with ``time.process_time`` (CPU of this process only: the PostgreSQL and Redis
side of a query is not in it), median of five chunks. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _deploy import PASSWORD, refresh_token, user_email

Op = Callable[[], Awaitable[Any]]


async def _cpu_us(op: Op, count: int, chunks: int = 5) -> float:
    per: list[float] = []
    for _ in range(chunks):
        started = time.process_time()
        for _ in range(count):
            await op()
        per.append((time.process_time() - started) / count * 1e6)
    return statistics.median(per)


async def main() -> dict[str, float]:
    from jwtwarden.server.runtime import Runtime
    from jwtwarden.server.settings import Settings
    from jwtwarden.sessions.ports import NewRefreshToken

    seed = os.environ["BENCH_SEED"]
    first, count = int(os.environ["BENCH_FIRST"]), int(os.environ["BENCH_COUNT"])
    tokens = iter(refresh_token(seed, i) for i in range(first, first + count))
    n = max(20, count // 12)  # refresh-token operations per chunk (three kinds, five chunks)

    parts = Runtime(Settings())
    await parts.start()
    out: dict[str, float] = {}
    try:
        key = parts.ring.signing_key("access")
        message = secrets.token_bytes(200)
        aud = list(parts.settings.audiences)
        claims = {"sid": "s" * 22, "auth_version": 1, "client_id": "jwtwarden"}

        async def floor_sign() -> None:
            key.impl.sign(message, key.jwk)

        async def mint() -> None:
            parts.issuer.mint_with_claims(
                "access", sub="bench-user-1", audience=aud, claims=claims, ttl=600
            )

        async def rotate() -> None:
            # The store's part of a refresh: the conditional spend and the successor's insert
            # in one transaction (what the service's unit of work runs on the hot path).
            now = time.time()
            digest = hashlib.sha256(next(tokens).encode()).digest()
            new = NewRefreshToken(
                token_hash=secrets.token_bytes(32), issued_at=now, expires_at=now + 3600
            )
            async with parts.sessions.transaction() as tx:
                session = await tx.spend(digest, new, now=now)
            assert session is not None

        async def refresh() -> None:
            await parts.service.refresh(next(tokens))

        pair = await parts.service.refresh(next(tokens))
        access = pair.access_token

        async def verify_plain() -> None:
            await parts.structural_verifier.verify_async(access)

        async def denylist() -> None:
            await parts.denylist.is_denied(jti=pair.claims["jti"], sid=pair.session_id)

        async def auth_version() -> None:
            await parts.users.auth_version(pair.user_id)

        async def verify_hooks() -> None:
            await parts.verify_access_token(access)

        user = await parts.users.user_by_email(user_email(1))
        assert user is not None

        async def argon2() -> None:
            parts.hasher.verify(user.password_hash, PASSWORD)

        async def login() -> None:
            await parts.service.login(user_email(1), PASSWORD)

        ops: list[tuple[str, Op, int]] = [
            ("ES256 sign alone (joserfc algorithm object)", floor_sign, 300),
            ("issuer: mint an access token", mint, 300),
            ("store: rotate (spend + successor, PostgreSQL)", rotate, n),
            ("service: refresh (rotate + mint + events)", refresh, n),
            ("verify an access token (no hooks)", verify_plain, 300),
            ("denylist lookup (Redis, the server's pipelined reader)", denylist, 300),
            ("auth-version lookup (PostgreSQL)", auth_version, 300),
            ("verify with both hooks (introspection's work)", verify_hooks, 300),
            ("argon2id verify alone", argon2, 4),
            ("service: login (lookup + argon2id + session)", login, 4),
        ]
        for _ in range(2):  # warm each path (prepared statements, caches), then measure
            for _, op, _count in ops[:8]:
                await op()
        for name, op, reps in ops:
            out[name] = await _cpu_us(op, reps)
    finally:
        await parts.close()
    return out


if __name__ == "__main__":
    try:
        import uvloop

        result = uvloop.run(main())
    except ImportError:
        result = asyncio.run(main())
    print("JSON " + json.dumps(result))
