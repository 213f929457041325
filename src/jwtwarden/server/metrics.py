"""Prometheus metrics (``GET /metrics``): logins, refreshes, reuse detections, revocations and
verification failures by code. Each app has its own registry (several apps in one process,
as in tests, never collide); with several workers each process reports its own counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The server's counters, and ``event(name, fields)`` to feed them from the service."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.logins = Counter(
            "jwtwarden_logins", "Login attempts by result.", ["result"], registry=r
        )
        self.refreshes = Counter(
            "jwtwarden_refreshes", "Refresh-token grants by result.", ["result"], registry=r
        )
        self.reuse = Counter(
            "jwtwarden_refresh_token_reuse_detected",
            "Spent refresh tokens presented again (each revoked a session).",
            registry=r,
        )
        self.revocations = Counter(
            "jwtwarden_revocations", "Revoked sessions and access tokens.", ["kind"], registry=r
        )
        self.verification_failures = Counter(
            "jwtwarden_token_verification_failures",
            "Access tokens refused by the server, by error code.",
            ["code"],
            registry=r,
        )
        self.rate_limited = Counter(
            "jwtwarden_rate_limited", "Requests refused by a rate limit.", ["bucket"], registry=r
        )
        # The labelled children are looked up once: ``labels()`` takes a lock per call.
        self._login_success = self.logins.labels("success")
        self._login_failure = self.logins.labels("failure")
        self.logins.labels("rate_limited")
        self._refresh_success = self.refreshes.labels("success")
        self._refresh_invalid = self.refreshes.labels("invalid")
        self._refresh_reuse = self.refreshes.labels("reuse")
        self._revoked_session = self.revocations.labels("session")
        self._revoked_access_token = self.revocations.labels("access_token")

    def event(self, name: str, fields: Mapping[str, Any]) -> None:
        """The session service's event sink."""
        if name == "refreshed":
            self._refresh_success.inc()
        elif name == "login_succeeded":
            self._login_success.inc()
        elif name == "login_failed":
            self._login_failure.inc()
        elif name == "refresh_refused":
            self._refresh_invalid.inc()
        elif name == "reuse_detected":
            self._refresh_reuse.inc()
            self.reuse.inc()
        elif name == "session_revoked":
            self._revoked_session.inc()
        elif name == "sessions_ended":
            self._revoked_session.inc(int(fields.get("count", 0)))
        elif name == "access_token_revoked":
            self._revoked_access_token.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
