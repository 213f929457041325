"""The rules of a refused refresh (``sessions.rotation.judge``), one row per verdict, and the
successor derivation; the stores and the service are tested in test_rotation.py."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

import pytest

from jwtwarden.sessions.ports import SessionRecord, TokenState
from jwtwarden.sessions.rotation import Verdict, derive_successor_key, judge, successor_of
from jwtwarden.sessions.tokens import refresh_token_hash

NOW = 1_800_000_000.0
KEY = b"k" * 32
PARENT = "jwtw_rt_" + "P" * 43
SUCCESSOR_HASH = hashlib.sha256(successor_of(KEY, PARENT).encode()).digest()
SESSION = SessionRecord(
    id="s1",
    user_id="u1",
    client_id="app",
    scope="",
    auth_version=3,
    created_at=NOW - 100,
    expires_at=NOW + 86400,
)
SPENT = TokenState(
    session=SESSION,
    spent_at=NOW - 10,
    expires_at=NOW + 3600,
    replaced_by=SUCCESSOR_HASH,
    successor_spent_at=None,
    user_version=3,
)
REVOKED = replace(SESSION, revoked_at=NOW - 5, revoke_reason="logout")

CASES = [
    ("an unknown token", None, {}, Verdict.UNKNOWN),
    ("a spent token retried within the window", SPENT, {}, Verdict.RETRIED),
    (
        "a retry exactly at the end of the window",
        replace(SPENT, spent_at=NOW - 30),
        {},
        Verdict.RETRIED,
    ),
    ("a retry after the window", replace(SPENT, spent_at=NOW - 30.5), {}, Verdict.REUSED),
    ("a retry with the window off", SPENT, {"retry_window": 0}, Verdict.REUSED),
    (
        "a retry after the successor was used",
        replace(SPENT, successor_spent_at=NOW - 1),
        {},
        Verdict.REUSED,
    ),
    (
        "a token spent by a revocation (no successor)",
        replace(SPENT, replaced_by=None),
        {},
        Verdict.REUSED,
    ),
    ("a successor derived with another key", SPENT, {"successor_hash": b"x" * 32}, Verdict.REUSED),
    ("a retry after the auth version moved on", replace(SPENT, user_version=4), {}, Verdict.REUSED),
    ("a retry of a disabled user", replace(SPENT, user_version=None), {}, Verdict.REUSED),
    (
        "a retry past the absolute lifetime",
        replace(SPENT, session=replace(SESSION, expires_at=NOW)),
        {},
        Verdict.EXPIRED,
    ),
    ("a spent token of a revoked session", replace(SPENT, session=REVOKED), {}, Verdict.ENDED),
    ("another client's spent token", SPENT, {"client_id": "other"}, Verdict.OTHER_CLIENT),
    (
        "another client's live token",
        replace(SPENT, spent_at=None),
        {"client_id": "other"},
        Verdict.OTHER_CLIENT,
    ),
    (
        "an unspent token past its idle lifetime",
        replace(SPENT, spent_at=None, expires_at=NOW),
        {},
        Verdict.EXPIRED,
    ),
    (
        "an unspent token of a revoked session",
        replace(SPENT, spent_at=None, session=REVOKED),
        {},
        Verdict.ENDED,
    ),
    (
        "an unspent token of a disabled user",
        replace(SPENT, spent_at=None, user_version=None),
        {},
        Verdict.ENDED,
    ),
    ("the session's own client named", SPENT, {"client_id": "app"}, Verdict.RETRIED),
]


@pytest.mark.parametrize(
    ("name", "state", "overrides", "verdict"), CASES, ids=[c[0] for c in CASES]
)
def test_should_judge_a_refused_refresh(
    name: str, state: TokenState | None, overrides: dict[str, object], verdict: Verdict
) -> None:
    arguments: dict[str, object] = {
        "now": NOW,
        "retry_window": 30.0,
        "successor_hash": SUCCESSOR_HASH,
        "client_id": None,
        **overrides,
    }
    assert judge(state, **arguments) is verdict  # type: ignore[arg-type]


def test_should_derive_a_successor_in_the_refresh_token_format() -> None:
    successor = successor_of(KEY, PARENT)
    assert re.fullmatch(r"jwtw_rt_[A-Za-z0-9_-]{43}", successor)
    assert refresh_token_hash(successor) is not None
    assert successor_of(KEY, PARENT) == successor  # recomputable: the retry's whole point
    assert successor_of(b"j" * 32, PARENT) != successor  # keyed
    assert successor_of(KEY, successor) != successor  # a chain, never a cycle of length one


def test_should_derive_the_successor_key_from_a_secret_with_its_own_purpose() -> None:
    kek = bytes(range(32))
    key = derive_successor_key(kek)
    assert len(key) == 32 and key != kek
    assert derive_successor_key(kek) == key
    assert derive_successor_key(bytes(32)) != key
    with pytest.raises(ValueError):
        derive_successor_key(b"short")
