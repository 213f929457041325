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
        for result in ("success", "failure", "rate_limited"):
            self.logins.labels(result)
        for result in ("success", "invalid", "reuse"):
            self.refreshes.labels(result)
        for kind in ("session", "access_token"):
            self.revocations.labels(kind)

    def event(self, name: str, fields: Mapping[str, Any]) -> None:
        """The session service's event sink."""
        if name == "login_succeeded":
            self.logins.labels("success").inc()
        elif name == "login_failed":
            self.logins.labels("failure").inc()
        elif name == "refreshed":
            self.refreshes.labels("success").inc()
        elif name == "refresh_refused":
            self.refreshes.labels("invalid").inc()
        elif name == "reuse_detected":
            self.refreshes.labels("reuse").inc()
            self.reuse.inc()
        elif name == "session_revoked":
            self.revocations.labels("session").inc()
        elif name == "sessions_ended":
            self.revocations.labels("session").inc(int(fields.get("count", 0)))
        elif name == "access_token_revoked":
            self.revocations.labels("access_token").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
