"""SQLite refresh cost against the number of live sessions (must stay flat).

One-off measurement for the query-plan audit (docs/security.md, "A request's cost does not
grow with the size of a table"): a migrated SQLite file with N live sessions (one live refresh
token each, bulk-inserted), then ``SQLSessionStore.rotate`` along one family; the median of
the per-call wall time of one transaction with the conditional spend and the successor's insert
(what a refresh's unit of work runs on the hot path). The write lock is held for the whole
transaction (``BEGIN IMMEDIATE``), so this is also how long every other writer waits.

    PYTHONPATH=src python bench/_sql_spend_bench.py [N ...]
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from jwtwarden.server.migrate import upgrade
from jwtwarden.sessions.ports import NewRefreshToken
from jwtwarden.stores.sql import SQLSessionStore, create_engine

SIZES = (2, 100_000, 300_000)
ROUNDS = 200
NOW = 1_700_000_000.0
USERS = 1000


def _hash(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def _fill(path: Path, sessions: int) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO jw_users VALUES (?, ?, 'x', 1, 0, 0, ?)",
            ((f"u{i}", f"u{i}@example.com", NOW) for i in range(USERS)),
        )
        conn.executemany(
            "INSERT INTO jw_sessions VALUES (?, ?, 'app', 'openid', 1, ?, ?, NULL, NULL)",
            ((f"s{i}", f"u{i % USERS}", NOW, NOW + 86400) for i in range(sessions)),
        )
        conn.executemany(
            "INSERT INTO jw_refresh_tokens VALUES (?, ?, ?, ?, NULL, NULL)",
            ((_hash(f"t{i}-0"), f"s{i}", NOW, NOW + 3600) for i in range(sessions)),
        )
    conn.execute("ANALYZE")
    conn.close()


async def _measure(url: str) -> float:
    store = SQLSessionStore(create_engine(url))
    samples = []
    current = _hash("t0-0")
    for step in range(1, ROUNDS + 1):
        successor = _hash(f"t0-{step}")
        new = NewRefreshToken(token_hash=successor, issued_at=NOW, expires_at=NOW + 3600)
        started = time.perf_counter()
        async with store.transaction() as tx:
            session = await tx.spend(current, new, now=NOW + step)
        samples.append(time.perf_counter() - started)
        if session is None:
            raise SystemExit(f"rotation {step} was refused")
        current = successor
    await store.engine.dispose()
    return statistics.median(samples[10:])  # the first few warm the connection and caches


def main(sizes: tuple[int, ...]) -> None:
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            url = f"sqlite:///{path}"
            upgrade(url)
            _fill(path, size)
            median = asyncio.run(_measure(url))
        print(f"{size:>8} live sessions: {median * 1000:8.3f} ms per refresh (median)")


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
