"""The SSRF guard: which addresses a key fetch may reach, checked on every fetch.

A JWKS URL, a discovery document's ``jwks_uri`` or an allowlisted ``jku`` is a URL this
service fetches on its own authority. If it can be made to point inward, it becomes a
server-side request forgery primitive: cloud metadata (169.254.169.254), admin ports on
loopback, the private network. So, before any connection:

- the scheme is ``https``; plain ``http`` only to loopback, and only when the application
  turns on the development switch (``allow_loopback_http``);
- the URL carries no credentials (``user:pass@``);
- the host is resolved, and *every* address it resolves to must be public: loopback (unless
  the switch), private (RFC 1918, RFC 4193), link-local, multicast, reserved, unspecified,
  shared (RFC 6598), benchmarking, documentation, and IPv6 forms that embed an IPv4 address
  (mapped, compatible, 6to4, Teredo, NAT64 of a refused or blocked address, any address
  under the local-use NAT64 prefix) are all refused;
- the fetch then connects to the address that was checked (``Target.pinned_url``), with the
  original host name in the ``Host`` header and as the TLS server name, so a DNS answer that
  changes between the check and the connection (DNS rebinding) cannot swap the address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import FetchRefusedError, JWKSFetchError

__all__ = ["IPAddress", "Resolver", "SSRFGuard", "Target", "address_refusal", "system_resolver"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]
"""``(host, port) -> addresses``: the injectable DNS seam (tests map names to addresses)."""

MAX_ADDRESSES = 16

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Networks named explicitly: ``ipaddress`` properties differ between Python versions, and
# some of these are "global" to it while no key server can legitimately live there.
_EXTRA_V4: tuple[tuple[_V4, str], ...] = tuple(
    (_V4(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "unspecified"),  # "this network"; 0.0.0.0 reaches loopback on Linux
        ("10.0.0.0/8", "private"),  # RFC 1918
        ("100.64.0.0/10", "shared"),  # RFC 6598 carrier-grade NAT
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link_local"),  # cloud metadata lives at 169.254.169.254
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),  # RFC 6890 IETF protocol assignments
        ("192.0.2.0/24", "documentation"),  # RFC 5737
        ("192.88.99.0/24", "reserved"),  # RFC 7526 deprecated 6to4 relay anycast
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),  # RFC 2544
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("255.255.255.255/32", "reserved"),
    )
)
_EXTRA_V6: tuple[tuple[_V6, str], ...] = tuple(
    (_V6(net), reason)
    for net, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("100::/64", "reserved"),  # RFC 6666 discard-only
        ("2001::/23", "reserved"),  # RFC 2928 IETF protocol assignments (Teredo included)
        ("2001:db8::/32", "documentation"),  # RFC 3849
        ("3fff::/20", "documentation"),  # RFC 9637
        ("5f00::/16", "reserved"),  # RFC 9602 SRv6 SIDs
        ("fc00::/7", "private"),  # RFC 4193 unique local
        ("fe80::/10", "link_local"),
        ("fec0::/10", "site_local"),  # RFC 3879 deprecated site-local
        ("ff00::/8", "multicast"),
    )
)
# IPv6 forms carrying an IPv4 address: a connection to them may reach the IPv4 one.
_MAPPED = _V6("::ffff:0:0/96")  # RFC 4291 2.5.5.2
_COMPATIBLE = _V6("::/96")  # RFC 4291 2.5.5.1, deprecated
_SIXTOFOUR = _V6("2002::/16")  # RFC 3056, deprecated by RFC 7526
_NAT64 = _V6("64:ff9b::/96")  # RFC 6052 well-known prefix: the IPv4 address is the last 32 bits
# RFC 8215 local-use prefix: the network picks the prefix length (/48 to /96), so where the
# IPv4 address sits (RFC 6052 2.2) is unknowable here; an address that looks public under one
# layout can reach loopback under another. Refused whole.
_NAT64_LOCAL = _V6("64:ff9b:1::/48")


def _v4_refusal(ip: ipaddress.IPv4Address) -> str | None:
    for net, reason in _EXTRA_V4:
        if ip in net:
            return reason
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not_global"
    return None


def _nat64_inner(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)


def _v6_refusal(ip: ipaddress.IPv6Address) -> str | None:
    if ip.scope_id:
        return "scoped"  # "fe80::1%eth0": an interface-scoped address is never a key server
    if ip in _MAPPED:
        inner = _v4_refusal(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        # Refused even when the IPv4 address is public: no resolver we call returns these.
        return f"ipv4_mapped:{inner}" if inner else "ipv4_mapped"
    if ip in _COMPATIBLE and int(ip) > 1:
        inner = _v4_refusal(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        return f"ipv4_compatible:{inner}" if inner else "ipv4_compatible"
    if ip in _SIXTOFOUR:
        inner = _v4_refusal(ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF))
        return f"6to4:{inner}" if inner else "6to4"
    if ip in _NAT64:
        # IPv6-only networks reach public IPv4 hosts through NAT64 (RFC 6146): allowed,
        # but only when the IPv4 address inside would be allowed on its own.
        inner = _v4_refusal(_nat64_inner(ip))
        return f"nat64:{inner}" if inner else None
    if ip in _NAT64_LOCAL:
        return "nat64_local"
    for net6, reason in _EXTRA_V6:
        if ip in net6:
            return reason
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_site_local:
        return "site_local"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not_global"
    return None


def address_refusal(address: IPAddress | str) -> str | None:
    """Why the guard refuses ``address`` (``"loopback"``, ``"link_local"``, ...), or ``None``.

    Loopback is reported like any other refusal; ``SSRFGuard`` decides whether its
    development switch allows it.

    Example:
        >>> address_refusal("169.254.169.254")
        'link_local'
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_refusal(ip)
    return _v6_refusal(ip)


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver (``getaddrinfo``), TCP addresses only."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Target:
    """A URL that passed the guard, with the addresses that were checked.

    Fetch ``pinned_url(address)`` with ``headers()`` and ``extensions()``: the connection goes
    to the checked address while ``Host`` and TLS (SNI and certificate verification) use the
    original host name.
    """

    url: httpx.URL
    addresses: tuple[IPAddress, ...]

    @property
    def host_is_address(self) -> bool:
        try:
            ipaddress.ip_address(self.url.host)
        except ValueError:
            return False
        return True

    def pinned_url(self, address: IPAddress) -> httpx.URL:
        return self.url.copy_with(host=str(address), fragment=None)

    def headers(self) -> dict[str, str]:
        return {"Host": self.url.netloc.decode("ascii")}

    def extensions(self) -> dict[str, Any]:
        if self.host_is_address:
            return {}
        # httpcore uses this as the TLS server_hostname: SNI and certificate verification.
        return {"sni_hostname": self.url.raw_host.decode("ascii")}


class SSRFGuard:
    """Decides whether a URL may be fetched, and to which addresses. Shared and thread-safe.

    Parameters:
        allow_loopback_http: the development switch: allow loopback addresses, and plain
            ``http`` to them. Off in production; everything else stays refused either way.
        resolver: ``(host, port) -> addresses``; default ``getaddrinfo``.
        blocked_networks: more networks to refuse (your own address plan, a VPC range).

    Attributes: ``refusals`` (how many URLs this guard refused).

    Raises:
        FetchRefusedError: from ``check``/``acheck``, naming what was refused.

    Example:
        >>> guard = SSRFGuard()
        >>> guard.check("https://169.254.169.254/latest/meta-data")  # doctest: +SKIP
        Traceback (most recent call last):
        FetchRefusedError: ... link_local ...
    """

    __slots__ = ("_allow_loopback", "_blocked", "_lock", "_refusals", "_resolver")

    def __init__(
        self,
        *,
        allow_loopback_http: bool = False,
        resolver: Resolver | None = None,
        blocked_networks: Iterable[str | ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
    ) -> None:
        if not isinstance(allow_loopback_http, bool):
            raise TypeError("allow_loopback_http must be a bool")
        self._allow_loopback = allow_loopback_http
        self._resolver = resolver or system_resolver
        self._blocked = tuple(ipaddress.ip_network(n) for n in blocked_networks)
        self._lock = threading.Lock()
        self._refusals = 0

    @property
    def allow_loopback_http(self) -> bool:
        return self._allow_loopback

    @property
    def refusals(self) -> int:
        return self._refusals

    def _refuse(self, detail: str) -> FetchRefusedError:
        with self._lock:
            self._refusals += 1
        return FetchRefusedError(detail)

    def _form(self, url: str | httpx.URL) -> tuple[httpx.URL | None, str]:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            return None, "the URL is not a valid absolute URL"
        if parsed.scheme not in ("https", "http"):
            return None, f"scheme {parsed.scheme[:10]!r} is refused; only https"
        if parsed.scheme == "http" and not self._allow_loopback:
            return None, (
                "plain http is refused (https only); http to this machine in development needs "
                "allow_loopback_http=True (the CLI's --allow-loopback-http)"
            )
        if parsed.userinfo:
            # Credentials in a URL would be sent to whoever the URL names.
            return None, "URLs with credentials (user:password@) are refused"
        if not parsed.host:
            return None, "the URL has no host"
        return parsed, ""

    def validate(self, url: str | httpx.URL) -> None:
        """Check a *configured* URL's form, without network; ``ValueError`` if it can never
        pass (for constructors: a bad configuration is a bad call, not a refused fetch)."""
        if self._form(url)[0] is None:
            raise ValueError(f"{str(url)[:200]!r}: {self._form(url)[1]}")

    def parse(self, url: str | httpx.URL) -> httpx.URL:
        """Check the URL's form (scheme, credentials, host) without touching the network.

        Raises:
            FetchRefusedError: the URL can never be fetched (counted).
        """
        parsed, problem = self._form(url)
        if parsed is None:
            raise self._refuse(problem)
        return parsed

    def _judge(self, url: httpx.URL, raw: Iterable[str]) -> Target:
        addresses: list[IPAddress] = []
        for item in raw:
            try:
                ip = ipaddress.ip_address(item)
            except ValueError:
                raise self._refuse(
                    "the resolver returned something that is not an address"
                ) from None
            if ip not in addresses:
                addresses.append(ip)
            if len(addresses) > MAX_ADDRESSES:
                raise self._refuse(f"the host resolves to more than {MAX_ADDRESSES} addresses")
        if not addresses:
            raise JWKSFetchError(f"the host {url.host[:100]!r} did not resolve")
        for ip in addresses:
            reason = address_refusal(ip)
            if reason is None and self._is_blocked(ip):
                reason = "blocked_network"
            if reason == "loopback" and self._allow_loopback:
                continue
            if reason == "loopback":
                raise self._refuse(
                    f"the host {url.host[:100]!r} resolves to a refused address (loopback, this "
                    "machine): in development allow it with allow_loopback_http=True (the "
                    "CLI's --allow-loopback-http)"
                )
            if reason is not None:
                # Every address must pass: a name that also resolves inward is refused whole
                # (an attacker with DNS control mixes answers to win a race).
                raise self._refuse(
                    f"the host {url.host[:100]!r} resolves to a refused address ({reason})"
                )
        if url.scheme == "http" and not all(ip.is_loopback for ip in addresses):
            raise self._refuse("plain http is allowed only to loopback addresses")
        return Target(url, tuple(addresses))

    def _is_blocked(self, ip: IPAddress) -> bool:
        # A NAT64 address reaches the IPv4 address inside it: a blocked IPv4 network must
        # not be reachable through its NAT64 form.
        reached = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip in _NAT64:
            reached.append(_nat64_inner(ip))
        return any(address in net for address in reached for net in self._blocked)

    def _literal(self, url: httpx.URL) -> Sequence[str] | None:
        try:
            return [str(ipaddress.ip_address(url.host))]
        except ValueError:
            return None

    def check(self, url: str | httpx.URL) -> Target:
        """Parse, resolve and check ``url``; return the ``Target`` to connect to.

        Raises:
            FetchRefusedError: the URL or one of its addresses is refused (counted).
            JWKSFetchError: the host does not resolve.
        """
        parsed = self.parse(url)
        raw = self._literal(parsed)
        if raw is None:
            raw = self._resolve(parsed)
        return self._judge(parsed, raw)

    async def acheck(self, url: str | httpx.URL) -> Target:
        """Like ``check``, resolving in a worker thread so the event loop never blocks."""
        parsed = self.parse(url)
        raw = self._literal(parsed)
        if raw is None:
            raw = await asyncio.to_thread(self._resolve, parsed)
        return self._judge(parsed, raw)

    def _resolve(self, url: httpx.URL) -> Sequence[str]:
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            return list(self._resolver(url.raw_host.decode("ascii"), port))
        except (OSError, UnicodeError) as exc:
            raise JWKSFetchError(
                f"the host {url.host[:100]!r} could not be resolved ({type(exc).__name__})"
            ) from None

    def __repr__(self) -> str:
        return f"SSRFGuard(allow_loopback_http={self._allow_loopback}, refusals={self._refusals})"
