#!/usr/bin/env python3
"""Do sign-up and forgot-password take the same time for known and unknown addresses?

    python3 bench/accounts_uniform_bench.py [--rounds 40]

The app in process (SQLite, the development outbox), requests through the ASGI transport,
known and unknown addresses interleaved; prints the median of each and their ratio. The tests
assert identical answers; timing is measured here, not asserted (docs/accounts.md).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from jwtwarden.server.app import create_app
from jwtwarden.server.settings import Settings

PASSWORD = "a perfectly long password"


async def _time(client: httpx.AsyncClient, path: str, body: dict[str, str]) -> float:
    started = time.perf_counter()
    response = await client.post(path, json=body)
    elapsed = time.perf_counter() - started
    assert response.status_code == 202, response.text
    return elapsed


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            signup=True,
            rate_limit_login_account=10**6,
            rate_limit_login_address=10**6,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            await runtime.service.create_user("known@example.test", PASSWORD)
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                cases = {
                    "forgot, known": (
                        "/account/password/forgot",
                        lambda i: {"email": "known@example.test"},
                    ),
                    "forgot, unknown": (
                        "/account/password/forgot",
                        lambda i: {"email": f"u{i}@example.test"},
                    ),
                    "signup, taken": (
                        "/account/signup",
                        lambda i: {"email": "known@example.test", "password": PASSWORD},
                    ),
                    "signup, new": (
                        "/account/signup",
                        lambda i: {"email": f"n{i}@example.test", "password": PASSWORD},
                    ),
                }
                times: dict[str, list[float]] = {name: [] for name in cases}
                for i in range(rounds):
                    for name, (path, body) in cases.items():  # interleaved
                        times[name].append(await _time(client, path, body(i)))
            await runtime.lifecycle.drain()
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:16s} median {value:8.2f} ms")
    print(f"forgot: unknown/known {medians['forgot, unknown'] / medians['forgot, known']:.3f}")
    print(f"signup: new/taken     {medians['signup, new'] / medians['signup, taken']:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    asyncio.run(main(parser.parse_args().rounds))
