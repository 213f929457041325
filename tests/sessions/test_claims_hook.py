"""The claims hook (issue 15): claims added to access tokens at login and refresh; any failure
of the hook (an exception, a deadline passed, a wrong type, a registered or secret claim, a
token over budget) refuses to issue, and a refused refresh leaves the token live."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from jwtwarden.accounts.claims_hook import ClaimsHookRequest, ClaimsHookRunner, load_hook
from jwtwarden.accounts.roles import RoleTable, UserScopes
from jwtwarden.clock import FixedClock
from jwtwarden.errors import ClaimsHookError
from jwtwarden.issue import Issuer
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.sessions import PasswordHasher, SessionConfig, SessionService
from jwtwarden.stores.memory import (
    MemoryDenylist,
    MemoryRoleStore,
    MemorySessionStore,
    MemoryUserStore,
)

from .conftest import AUDIENCE, ISSUER

PASSWORD = "correct horse battery staple"


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # a hook blocked on it ends with the test


def _service(
    hook: Any, ring: KeyRing, clock: FixedClock, *, timeout: float = 1.0, budget: int = 4096
) -> SessionService:
    users = MemoryUserStore()
    table = RoleTable(roles={"reader": frozenset({"read"})}, default_roles=frozenset({"reader"}))
    return SessionService(
        users=users,
        sessions=MemorySessionStore(users),
        minter=Issuer(
            issuer=ISSUER,
            keys=ring,
            clock=clock,
            size_budget=budget,
            size_warning=min(budget, 1024),
        ),
        hasher=PasswordHasher(),
        denylist=MemoryDenylist(clock=clock),
        config=SessionConfig(audience=(AUDIENCE,), scopes=frozenset({"read"})),
        clock=clock,
        user_scopes=UserScopes(table, MemoryRoleStore(users)),
        claims_hook=ClaimsHookRunner(hook, timeout=timeout),
    )


async def test_should_add_the_hooks_claims_at_login_and_at_refresh(
    ring: KeyRing, clock: FixedClock
) -> None:
    seen: list[ClaimsHookRequest] = []

    def hook(request: ClaimsHookRequest) -> dict[str, Any]:
        seen.append(request)
        return {"org": "acme", "tier": 2}

    service = _service(hook, ring, clock)
    user = await service.create_user("ada@example.com", PASSWORD)
    pair = await service.login("ada@example.com", PASSWORD, scope="read")
    assert pair.claims["org"] == "acme" and pair.claims["tier"] == 2
    again = await service.refresh(pair.refresh_token)
    assert again.claims["org"] == "acme" and again.claims["sub"] == user.id
    assert [(r.token_type, r.user.id, r.client_id, r.scope) for r in seen] == [
        ("access", user.id, "jwtwarden", "read")
    ] * 2


async def test_should_accept_a_coroutine_hook_loaded_by_dotted_path(
    ring: KeyRing, clock: FixedClock
) -> None:
    async def hook(request: ClaimsHookRequest) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"org": "async"}

    service = _service(hook, ring, clock)
    await service.create_user("ada@example.com", PASSWORD)
    assert (await service.login("ada@example.com", PASSWORD)).claims["org"] == "async"
    loaded = _service(load_hook("tests.sessions.hooks:organisation"), ring, clock)
    await loaded.create_user("ada@example.com", PASSWORD)
    claims = (await loaded.login("ada@example.com", PASSWORD)).claims
    assert claims["org"] == "acme" and claims["hooked_for"] == "access"


def _blocking(release: threading.Event) -> Any:
    def hook(request: ClaimsHookRequest) -> dict[str, Any]:
        release.wait(30)
        return {"late": True}

    return hook


async def _never(request: ClaimsHookRequest) -> dict[str, Any]:
    await asyncio.Event().wait()
    return {}


def _returns(value: Any) -> Any:
    return lambda request: value


FAILURES = [
    (
        "should refuse to issue when the hook raises",
        lambda r: load_hook("tests.sessions.hooks.broken"),
        "raised RuntimeError",
    ),
    ("should refuse to issue when a sync hook passes its deadline", _blocking, "within 0.2 s"),
    (
        "should refuse to issue when a coroutine hook passes its deadline",
        lambda r: _never,
        "within 0.2 s",
    ),
    ("should refuse a hook returning a list", lambda r: _returns(["org"]), "mapping"),
    (
        "should refuse a hook overriding sub",
        lambda r: _returns({"sub": "admin"}),
        "registered claims ['sub']",
    ),
    (
        "should refuse a hook overriding scope",
        lambda r: _returns({"scope": "admin"}),
        "registered claims ['scope']",
    ),
    (
        "should refuse a hook overriding auth_version",
        lambda r: _returns({"auth_version": 99}),
        "registered",
    ),
    (
        "should refuse a hook returning a password",
        lambda r: _returns({"password": "hunter2"}),
        "claim lint",
    ),
    (
        "should refuse a hook returning a value that is not JSON",
        lambda r: _returns({"at": object()}),
        "not JSON",
    ),
    (
        "should refuse a hook returning a huge claim set",
        lambda r: _returns({"blob": "x" * 3000}),
        "bytes of claims",
    ),
]


@pytest.mark.parametrize(("name", "make", "reason"), FAILURES, ids=[f[0] for f in FAILURES])
async def test_hook_failures_refuse_to_issue(
    name: str,
    make: Any,
    reason: str,
    ring: KeyRing,
    clock: FixedClock,
    release: threading.Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = _service(make(release), ring, clock, timeout=0.2)
    await service.create_user("ada@example.com", PASSWORD)
    with (
        caplog.at_level(logging.ERROR, logger="jwtwarden.accounts"),
        pytest.raises(ClaimsHookError, match="no access token was issued") as refused,
    ):
        await service.login("ada@example.com", PASSWORD)
    assert reason in refused.value.detail
    assert refused.value.code == "claims_hook_failed"
    # Logged, with the reason and without the hook's own message (it named a user's email).
    assert any(r.message.startswith("claims hook refused") for r in caplog.records)
    assert "ada@example.com" not in caplog.text and "hunter2" not in caplog.text


async def test_should_refuse_a_refresh_when_the_hook_fails_and_leave_the_token_live(
    ring: KeyRing, clock: FixedClock
) -> None:
    state = {"fail": False}

    def hook(request: ClaimsHookRequest) -> dict[str, Any]:
        if state["fail"]:
            raise LookupError("down")
        return {"org": "acme"}

    service = _service(hook, ring, clock)
    await service.create_user("ada@example.com", PASSWORD)
    pair = await service.login("ada@example.com", PASSWORD)
    state["fail"] = True
    with pytest.raises(ClaimsHookError):
        await service.refresh(pair.refresh_token)
    state["fail"] = False
    assert (await service.refresh(pair.refresh_token)).claims["org"] == "acme"


async def test_should_refuse_when_the_hooks_claims_put_the_token_over_the_budget(
    ring: KeyRing, clock: FixedClock
) -> None:
    service = _service(_returns({"blob": "x" * 1500}), ring, clock, budget=1024)
    await service.create_user("ada@example.com", PASSWORD)
    with pytest.raises(ClaimsHookError, match="too big"):
        await service.login("ada@example.com", PASSWORD)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tests.sessions.no_such_module:hook", "cannot import module"),
        ("tests.sessions.hooks:missing", "expected a callable"),
        ("tests.sessions.hooks:NOT_CALLABLE", "found dict"),
        ("nodots", "dotted path"),
    ],
    ids=[
        "should refuse a module that does not exist",
        "should refuse a name the module does not have",
        "should refuse something that is not callable",
        "should refuse a path without a module",
    ],
)
def test_loading_a_hook(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_hook(path)
