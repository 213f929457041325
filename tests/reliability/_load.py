"""Refresh load for the fault scenarios: a few dozen clients, each logged in once, refreshing
its own token in a loop over real HTTP, as a well-behaved client would.

A client never presents a token it already holds a successor for. When an answer is lost (a
timeout, a closed connection) it retries the *same* token; on a 503 it waits ``Retry-After``
(at most 5 s) and retries; a 400 means its session ended under it (recorded, then it logs in
again). So any reuse revocation in the database is a false one. Every call is recorded with
its start and end (``time.monotonic``), so the checks can tell calls made during a fault from
calls made while every server was healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from ._stack import EMAIL, INTROSPECTION, PASSWORD

__all__ = ["Call", "Issued", "Load"]

CLIENT_TIMEOUT = 5.0  # seconds, as a browser or mobile SDK would set it
LOST_ANSWER_PAUSE = 0.2


@dataclass(frozen=True)
class Call:
    kind: str
    start: float
    end: float
    status: int | None  # None: no answer (timeout, connection refused or closed)
    retry_after: str | None = None
    error: str = ""


@dataclass(frozen=True)
class Issued:
    """A pair the server answered 200 with (login or refresh)."""

    kind: str
    client: int
    refresh_token: str
    access_token: str


@dataclass
class Load:
    """``clients`` refreshing in a loop; ``tabs`` of them send every refresh twice at once (two
    browser tabs, or a client library without single flight); every ``logout_every``-th step a
    client logs out and in again (0: never)."""

    url: str
    clients: int = 32
    tabs: int = 0
    logout_every: int = 0
    think: float = 0.05
    calls: list[Call] = field(default_factory=list)
    issued: list[Issued] = field(default_factory=list)
    killed: list[tuple[int, str]] = field(default_factory=list)  # (client, error code)
    current: dict[int, str | None] = field(default_factory=dict)
    faults: list[tuple[float, float, str]] = field(default_factory=list)
    inactive_live: int = 0  # introspection said inactive for a token just issued
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    # Logins ramp up four at a time: the server hashes one password per worker at once, and 32
    # logins in one burst on two busy cores outlast the client's timeout.
    _login_gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))

    # --- running -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Load]:
        """Start the clients (each logs in first), yield while they run, then stop them."""
        began = time.monotonic()
        tasks = [asyncio.create_task(self._client(n)) for n in range(self.clients)]
        try:
            while len(self.current) < self.clients:  # everyone logged in
                await asyncio.sleep(0.05)
            self.timings["logins"] = round(time.monotonic() - began, 1)
            began = time.monotonic()
            yield self
        finally:
            self.timings["load"] = round(time.monotonic() - began, 1)
            began = time.monotonic()
            self._stop.set()
            done = await asyncio.gather(*tasks, return_exceptions=True)
            self.timings["stopping"] = round(time.monotonic() - began, 1)
        for outcome in done:
            if isinstance(outcome, BaseException):
                raise outcome

    @contextlib.asynccontextmanager
    async def fault(self, name: str) -> AsyncIterator[None]:
        """Mark the time inside the block as a fault window (503s are expected in it)."""
        start = time.monotonic()
        try:
            yield
        finally:
            self.faults.append((start, time.monotonic(), name))

    def in_fault(self, call: Call) -> bool:
        return any(call.start <= end and call.end >= start for start, end, _ in self.faults)

    # --- one client --------------------------------------------------------------------

    async def _client(self, n: int) -> None:
        limits = httpx.Limits(max_connections=4)
        async with httpx.AsyncClient(
            base_url=self.url, timeout=CLIENT_TIMEOUT, limits=limits
        ) as http:
            token: str | None = None
            step = 0
            while not self._stop.is_set():
                if token is None:
                    token = await self._login(http, n)
                    self.current[n] = token
                    continue
                step += 1
                if self.logout_every and step % self.logout_every == 0:
                    if await self._logout(http, token):
                        token = None
                        self.current[n] = None
                    continue
                if n < self.tabs:
                    both = await asyncio.gather(
                        self.refresh(http, n, token), self.refresh(http, n, token)
                    )
                    token = None if None in both else both[0]
                else:
                    token = await self.refresh(http, n, token, introspect=step % 3 == 0)
                self.current[n] = token
                await asyncio.sleep(self.think)

    async def _send(
        self, http: httpx.AsyncClient, kind: str, path: str, **request: Any
    ) -> httpx.Response | None:
        start = time.monotonic()
        try:
            answer = await http.post(path, **request)
        except httpx.TransportError as exc:  # timeouts included: the answer is lost
            self.calls.append(Call(kind, start, time.monotonic(), None, error=type(exc).__name__))
            return None
        retry_after = answer.headers.get("retry-after")
        self.calls.append(Call(kind, start, time.monotonic(), answer.status_code, retry_after))
        return answer

    async def _pause(self, answer: httpx.Response | None) -> None:
        if answer is None:
            await asyncio.sleep(LOST_ANSWER_PAUSE)
            return
        try:
            wait = float(answer.headers.get("retry-after", "1"))
        except ValueError:
            wait = 1.0
        await asyncio.sleep(min(max(wait, 0.1), 5.0))

    async def _retrying(
        self, http: httpx.AsyncClient, kind: str, path: str, *, forever: bool, **request: Any
    ) -> httpx.Response | None:
        """Send until an answer other than 503 (or, unless ``forever``, until stopped)."""
        while True:
            answer = await self._send(http, kind, path, **request)
            if answer is not None and answer.status_code != 503:
                return answer
            if self._stop.is_set() and not forever:
                return None
            await self._pause(answer)

    async def _login(self, http: httpx.AsyncClient, n: int) -> str | None:
        body = {"email": EMAIL, "password": PASSWORD}
        async with self._login_gate:
            answer = await self._retrying(http, "login", "/auth/login", forever=False, json=body)
        if answer is None or answer.status_code != 200:
            await asyncio.sleep(0.5)
            return None
        pair = answer.json()
        self.issued.append(Issued("login", n, pair["refresh_token"], pair["access_token"]))
        return str(pair["refresh_token"])

    async def _logout(self, http: httpx.AsyncClient, token: str) -> bool:
        body = {"refresh_token": token}
        answer = await self._retrying(http, "logout", "/auth/logout", forever=False, json=body)
        return answer is not None and answer.status_code == 200

    async def refresh(
        self,
        http: httpx.AsyncClient,
        n: int,
        token: str,
        *,
        introspect: bool = False,
        forever: bool = False,
    ) -> str | None:
        """Refresh ``token`` (retrying a lost answer with the same token): the successor, the
        same token when stopped before an answer, or ``None`` when the session ended."""
        form = {"grant_type": "refresh_token", "refresh_token": token}
        answer = await self._retrying(http, "refresh", "/oauth/token", forever=forever, data=form)
        if answer is None:
            return token
        if answer.status_code == 400:
            self.killed.append((n, str(answer.json().get("error"))))
            return None
        if answer.status_code != 200:
            return token  # recorded (a 500 fails the checks); try again later
        pair = answer.json()
        self.issued.append(Issued("refresh", n, pair["refresh_token"], pair["access_token"]))
        if introspect:
            seen = await self._send(
                http,
                "introspect",
                "/oauth/introspect",
                data={"token": pair["access_token"]},
                auth=INTROSPECTION,
            )
            if seen is not None and seen.status_code == 200 and not seen.json()["active"]:
                self.inactive_live += 1
        return str(pair["refresh_token"])

    async def final_refresh(self) -> int:
        """After the load: each client refreshes the token it holds once more (retrying a lost
        answer or a 503); the number of clients whose session had ended (400)."""
        killed_before = len(self.killed)
        began = time.monotonic()
        async with httpx.AsyncClient(base_url=self.url, timeout=CLIENT_TIMEOUT) as http:
            await asyncio.gather(
                *(
                    self.refresh(http, n, token, forever=True)
                    for n, token in self.current.items()
                    if token is not None
                )
            )
        self.timings["final_refresh"] = round(time.monotonic() - began, 1)
        return len(self.killed) - killed_before
