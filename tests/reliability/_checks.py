"""What every fault scenario checks afterwards, from the throwaway database and the server.

- no session with two live refresh tokens (two successors of one family);
- every refresh token the server answered 200 with is in ``jw_refresh_tokens`` (by SHA-256):
  an acknowledged rotation was never lost;
- no token of a session the database has revoked is active at introspection (the denylist
  and auth-version checks together), and every session's newest token that should be active
  is (so the oracle can say both);
- no false reuse: the clients never replayed a token they held a successor for, so no session
  may be revoked as ``reuse`` and no refresh may have answered 400;
- no 500; every 503 carries ``Retry-After``; no 503 outside the fault windows.

The figures are printed on one line (``pytest -s`` shows them) for docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass

import httpx

from jwtwarden.unsafe import decode_unverified

from ._load import Load
from ._stack import INTROSPECTION, Stack

__all__ = ["Findings", "examine"]


@dataclass
class Findings:
    calls: int
    statuses: dict[str, int]
    lost_answers: int
    lost_by_kind_and_error: dict[str, int]
    refreshes_ok: int
    sessions: int
    killed_during_load: int
    killed_at_final_refresh: int
    reuse_revoked: int
    two_live: int
    missing_tokens: int
    revoked_checked: int
    revoked_but_active: int
    live_but_inactive: int
    status_500: int
    without_retry_after: int
    unavailable_outside_faults: int
    unavailable_outside_by_kind: dict[str, int]
    seconds: dict[str, float]

    def report(self, name: str) -> None:
        print(f"\nreliability {name}: {json.dumps(asdict(self), sort_keys=True)}", flush=True)

    def problems(self) -> dict[str, int]:
        """Every count that must be 0, with its value (the scenario asserts this is empty)."""
        must_be_zero = {
            "killed_during_load": self.killed_during_load,
            "killed_at_final_refresh": self.killed_at_final_refresh,
            "reuse_revoked": self.reuse_revoked,
            "two_live": self.two_live,
            "missing_tokens": self.missing_tokens,
            "revoked_but_active": self.revoked_but_active,
            "live_but_inactive": self.live_but_inactive,
            "status_500": self.status_500,
            "without_retry_after": self.without_retry_after,
            "unavailable_outside_faults": self.unavailable_outside_faults,
        }
        return {name: value for name, value in must_be_zero.items() if value}


async def examine(stack: Stack, load: Load) -> Findings:
    """After the load: the final refresh of every client, then the database and the server."""
    killed_before_final = len(load.killed)
    killed_final = await load.final_refresh()
    began = time.monotonic()
    issued = {hashlib.sha256(i.refresh_token.encode()).digest() for i in load.issued}
    present = await stack.sql(
        "SELECT count(*) AS n FROM jw_refresh_tokens WHERE token_hash = ANY($1::bytea[])",
        list(issued),
    )
    two_live = await stack.sql(
        "SELECT session_id FROM jw_refresh_tokens WHERE spent_at IS NULL "
        "GROUP BY session_id HAVING count(*) > 1"
    )
    sessions = await stack.sql("SELECT id, revoked_at, revoke_reason FROM jw_sessions")
    revoked = {r["id"] for r in sessions if r["revoked_at"] is not None}
    by_sid: dict[str, list[str]] = {}
    for pair in load.issued:
        sid = str(decode_unverified(pair.access_token).claims["sid"])
        by_sid.setdefault(sid, []).append(pair.access_token)
    # Denials are by sid (and the auth version): a session's first and last access tokens
    # stand for all of them.
    revoked_tokens = [t for sid in revoked for t in _first_and_last(by_sid.get(sid, []))]
    newest_live = [tokens[-1] for sid, tokens in by_sid.items() if sid not in revoked]
    active_revoked, active_live = await _introspect_all(stack, revoked_tokens, newest_live)
    statuses = Counter(str(c.status) for c in load.calls)
    load.timings["start_up"] = stack.started_in
    load.timings["checks"] = round(time.monotonic() - began, 1)
    return Findings(
        calls=len(load.calls),
        statuses=dict(sorted(statuses.items())),
        lost_answers=statuses.get("None", 0),
        lost_by_kind_and_error=dict(
            Counter(f"{c.kind} {c.error}" for c in load.calls if c.status is None)
        ),
        refreshes_ok=sum(1 for c in load.calls if c.kind == "refresh" and c.status == 200),
        sessions=len(sessions),
        killed_during_load=killed_before_final,
        killed_at_final_refresh=killed_final,
        reuse_revoked=sum(1 for r in sessions if r["revoke_reason"] == "reuse"),
        two_live=len(two_live),
        missing_tokens=len(issued) - int(present[0]["n"]),
        revoked_checked=len(revoked_tokens),
        revoked_but_active=sum(active_revoked),
        live_but_inactive=load.inactive_live + sum(not a for a in active_live),
        status_500=sum(1 for c in load.calls if c.status is not None and c.status >= 500)
        - statuses.get("503", 0),  # any 5xx other than 503
        without_retry_after=sum(1 for c in load.calls if c.status == 503 and not c.retry_after),
        unavailable_outside_faults=sum(
            1 for c in load.calls if c.status == 503 and not load.in_fault(c)
        ),
        unavailable_outside_by_kind=dict(
            Counter(c.kind for c in load.calls if c.status == 503 and not load.in_fault(c))
        ),
        seconds=dict(load.timings),
    )


def _first_and_last(tokens: list[str]) -> list[str]:
    return tokens[:1] + tokens[1:][-1:]


async def _introspect_all(
    stack: Stack, revoked: list[str], live: list[str]
) -> tuple[list[bool], list[bool]]:
    gate = asyncio.Semaphore(16)

    async def active(http: httpx.AsyncClient, token: str) -> bool:
        async with gate:
            # The checks run once every server is back: a 503 now is a failure.
            answer = await http.post("/oauth/introspect", data={"token": token}, auth=INTROSPECTION)
            assert answer.status_code == 200, (answer.status_code, answer.text)
            return bool(answer.json()["active"])

    async with httpx.AsyncClient(base_url=stack.url, timeout=10.0) as http:
        revoked_active = await asyncio.gather(*(active(http, t) for t in revoked))
        live_active = await asyncio.gather(*(active(http, t) for t in live))
    return list(revoked_active), list(live_active)
