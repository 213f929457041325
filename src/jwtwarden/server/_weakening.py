"""Combinations of settings that would start fine but silently drop a guarantee the server
promises (a logout that holds everywhere, a rate limit, the ``/metrics`` loopback rule).
They are refused at start, each with the setting and the reason, all of them at once.

Measured before this check (security review, issue 11): ``JWTWARDEN_DENYLIST=memory`` with 4
workers left 14 of 20 introspections of logged-out tokens ``active``; with
``JWTWARDEN_TRUSTED_PROXIES='*'`` a client set its own address in ``X-Forwarded-For`` and so
left its login rate-limit bucket and passed the loopback rule of ``/metrics``.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["is_loopback_host", "trusted_proxy_problem", "weakening_problems"]

# A trusted proxy network may be a VPC (10.0.0.0/8) or a CDN's published ranges (the widest are
# /12-/13 for IPv4, /29 for IPv6); anything wider than these holds a good part of the Internet,
# whose every host could then choose the client address we see.
_WIDEST_IPV4 = 8
_WIDEST_IPV6 = 16
# IPv6 ranges that embed the whole IPv4 Internet (RFC 4291 2.5.5.2 IPv4-mapped, RFC 6052 NAT64,
# RFC 3056 6to4, RFC 4380 Teredo): a network covering much of one is as wide as 0.0.0.0/0.
_IPV4_EMBEDDING = (
    (ipaddress.IPv6Network("::ffff:0:0/96"), 96),
    (ipaddress.IPv6Network("64:ff9b::/96"), 96),
    (ipaddress.IPv6Network("2002::/16"), 16),
    (ipaddress.IPv6Network("2001::/32"), 96),
)


def _too_wide(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    if isinstance(network, ipaddress.IPv4Network):
        return network.prefixlen < _WIDEST_IPV4
    for embedding, ipv4_offset in _IPV4_EMBEDDING:
        # The IPv4 address sits after ipv4_offset bits: fewer than 8 of its bits fixed is wider
        # than an IPv4 /8.
        if network.overlaps(embedding) and network.prefixlen < ipv4_offset + _WIDEST_IPV4:
            return True
    # Unique local (fc00::/7) and link-local space never reaches the Internet, however wide.
    private = network.is_private or network.is_link_local
    return network.prefixlen < _WIDEST_IPV6 and not private


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` names this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def trusted_proxy_problem(entry: str) -> str | None:
    """Why one ``JWTWARDEN_TRUSTED_PROXIES`` entry is refused, or ``None`` if it is fine."""
    if entry == "*":
        return (
            "'*' trusts X-Forwarded-For from every peer, so any client sets its own address "
            "(its own login rate-limit bucket, the loopback rule of /metrics); name the proxies"
        )
    try:
        network = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return f"{entry!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
    if _too_wide(network):
        return (
            f"{entry!r} is so wide that it takes in much of the Internet, whose every host "
            "could then set the client address we see; name the proxies' own addresses"
        )
    return None


def _proxies(settings: Settings) -> list[str]:
    if settings.trusted_proxies is None:
        return []
    entries = [e.strip() for e in settings.trusted_proxies.split(",")]
    if not any(entries):
        return ["JWTWARDEN_TRUSTED_PROXIES: is empty; unset it, or name the proxies"]
    found = (trusted_proxy_problem(e) for e in entries if e)
    return [f"JWTWARDEN_TRUSTED_PROXIES: {problem}" for problem in found if problem]


def _shared_state(settings: Settings) -> list[str]:
    workers = settings.workers
    problems = []
    if settings.denylist == "memory" and workers > 1:
        problems.append(
            f"JWTWARDEN_DENYLIST: denylist=memory with JWTWARDEN_WORKERS={workers}: each worker "
            "process keeps its own denylist, so a logout or revocation would hold in one worker "
            "only; use denylist=database or redis"
        )
    elif settings.denylist == "memory" and not settings.is_development:
        problems.append(
            f"JWTWARDEN_DENYLIST: denylist=memory in environment {settings.environment!r}: an "
            "in-process denylist is not shared with other instances and is lost on restart, so "
            "revoked access tokens would be accepted again; use denylist=database or redis"
        )
    if workers > 1 and settings.redis_url is None:
        problems.append(
            f"JWTWARDEN_WORKERS: {workers} workers without JWTWARDEN_REDIS_URL: the login rate "
            "limits (JWTWARDEN_RATE_LIMIT_LOGIN_*) would be counted per process, giving a "
            f"client {workers} times them; set JWTWARDEN_REDIS_URL or JWTWARDEN_WORKERS=1"
        )
    if _in_memory_sqlite(settings) and (workers > 1 or not settings.is_development):
        problems.append(
            "JWTWARDEN_DATABASE_URL: an in-memory SQLite database belongs to one process and is "
            "lost at exit (accounts, sessions, revocations); use a database file or PostgreSQL"
        )
    return problems


def _in_memory_sqlite(settings: Settings) -> bool:
    if settings.database_url is None:
        return False
    from ..stores.sql import async_url

    try:
        url = async_url(settings.database_url.get_secret_value())
    except ValueError:
        return False  # reported by the URL check
    database = url.database or ""
    return url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in database
    )


def _origins(settings: Settings) -> list[str]:
    if settings.is_development:
        return []
    problems = []
    for origin in settings.allowed_origins:
        scheme, _, host = origin.partition("://")
        hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0]
        if scheme != "https" and not is_loopback_host(hostname.strip("[]")):
            problems.append(
                f"JWTWARDEN_ALLOWED_ORIGINS: {origin!r} is plain http in environment "
                f"{settings.environment!r}: the origin is sent credentialed CORS answers "
                "(tokens, cookies), which anyone on its network could read or forge; use https"
            )
    return problems


def weakening_problems(settings: Settings) -> list[str]:
    """Every refused combination in ``settings``, one line each, naming the setting."""
    return [*_shared_state(settings), *_proxies(settings), *_origins(settings)]
