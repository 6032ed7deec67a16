"""Who may use Proxyter, where it may send them, and how much of it one client may hold.

- :class:`ClientAuth`: users with passwords, or tokens, checked from ``Proxy-Authorization``
  (Basic ``user:password``, the user name naming the request type as always; or Bearer
  ``token``) in constant time. Without users or tokens every client is let in, which
  Proxyter allows only on loopback.
- :class:`Destinations`: the ``host:port`` pairs a client may reach. By default the hosts
  of the venues' REST and WebSocket URLs as configured (the connectors' own, or the
  ``TRADEFLOOD_<VENUE>_<API>_URL`` overrides), plus those the configuration lists;
  anything else (``127.0.0.1:6379``, an intranet host) is refused with 403. The list names
  hosts, but what is reached is an address: :meth:`Destinations.addresses` resolves a name
  once and keeps only public addresses and those listed themselves (``127.0.0.1:18080``), so a
  listed name that resolves to loopback, a private or a link-local address (DNS rebinding, a
  hosts entry) is refused too; Proxyter then connects to a checked address, never to the name.
- :class:`Caps`: connections in all and per client, idle times, head size.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hmac
import ipaddress
import resource
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from ._http import HttpError, parse_authority

__all__ = ["Caps", "ClientAuth", "Destinations", "NotAllowedAddress", "Resolver", "is_loopback", "is_public",
           "resolve", "venue_destinations"]

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Resolves ``(host, port)`` to IP addresses (raising ``OSError`` when it cannot)."""

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


@dataclass(frozen=True)
class ClientAuth:
    """The credentials clients must present: ``users`` (name -> password) and ``tokens``
    (accepted as the password of any user name, or as a Bearer token)."""

    users: Mapping[str, str] = field(default_factory=dict)
    tokens: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, secret in [*self.users.items(), *(("token", t) for t in self.tokens)]:
            if not isinstance(secret, str) or len(secret) < 8:
                raise ConfigError(f"the password or token of {name!r} must be a string of 8 characters "
                                  "or more")
            if ":" in name:
                raise ConfigError(f"user name {name!r} holds ':', which Basic authentication cannot carry")

    @property
    def required(self) -> bool:
        return bool(self.users or self.tokens)

    def request_type(self, authorization: str | None) -> str | None:
        """The request type (the user name, ``*`` without one) a client may send, or None when
        its credentials are missing or wrong. Every secret is compared, each in constant time."""
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        user, password = "", None
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")\
                    .partition(":")
            except ValueError:
                return None if self.required else "*"
        elif scheme.lower() == "bearer":
            password = credentials.strip()
        if not self.required:
            return user or "*"
        if password is None:
            return None
        given = password.encode("utf-8")
        ok = False
        for token in self.tokens:
            ok |= hmac.compare_digest(given, token.encode("utf-8"))
        expected = self.users.get(user)
        # compare against something even for an unknown user, so timing does not tell users apart
        ok |= hmac.compare_digest(given, (expected or "\0" * 16).encode("utf-8")) and expected is not None
        return (user or "*") if ok else None


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1); False for 0.0.0.0, '' and
    any other name or address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_public(address: str) -> bool:
    """True for a globally routable unicast address; False for loopback, private, link-local,
    shared (CGNAT), reserved, unspecified and multicast ones (IPv4-mapped IPv6 judged as IPv4)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    """The host's addresses (an address resolves to itself), in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class NotAllowedAddress(Exception):
    """An allowed name resolves only to addresses that are neither public nor allowed themselves."""

    def __init__(self, host: str, port: int, addresses: list[str]) -> None:
        super().__init__(f"{host}:{port} resolves to {', '.join(addresses) or 'nothing'}, "
                         "not a public address nor one on the allow-list")
        self.host, self.port, self.addresses = host, port, addresses


def _address(host: str) -> str | None:
    """``host`` as a canonical IP address, or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]")).compressed
    except ValueError:
        return None


def _url_destination(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 443)
    return (parts.hostname or "").lower().rstrip("."), port


def venue_destinations() -> set[tuple[str, int]]:
    """``(host, port)`` of every REST and WebSocket base URL of the registered venues, as their
    connectors resolve them now (``TRADEFLOOD_*_URL`` overrides included)."""
    from .. import registry  # the registry imports the connectors and bindings: only when needed

    connectors: set[Any] = {b.connector for b in registry.bindings_for().values()}
    connectors |= {getattr(b, "connector", None) for b in registry.stream_bindings_for().values()}
    out: set[tuple[str, int]] = set()
    for cls in connectors - {None}:
        out |= {_url_destination(url) for url in cls().base_urls.values()}
    return out


@dataclass(frozen=True)
class Destinations:
    """The ``(host, port)`` pairs clients may reach; ``allows`` is checked before any connection."""

    allowed: frozenset[tuple[str, int]]

    @classmethod
    def parse(cls, hosts: Iterable[str] = (), *, venues: bool = True) -> Destinations:
        """From ``host:port`` entries (a bare ``host`` means ports 80 and 443) and, unless
        ``venues=False``, the venues' configured hosts."""
        allowed: set[tuple[str, int]] = venue_destinations() if venues else set()
        for entry in hosts:
            if not isinstance(entry, str):
                raise ConfigError(f"allowed destinations are 'host:port' strings, not {entry!r}")
            try:
                if entry.rpartition(":")[2].isdigit() and not entry.endswith("]"):
                    allowed.add(parse_authority(entry))
                else:
                    allowed |= {parse_authority(entry, 80), parse_authority(entry, 443)}
            except HttpError:
                raise ConfigError(f"{entry!r} is not a destination; expected 'host', 'host:port' or "
                                  "'[v6]:port'") from None
        return cls(frozenset(allowed))

    def allows(self, host: str, port: int) -> bool:
        """Whether the name or address ``host`` is on the list with ``port`` (checked before resolving)."""
        return (host.lower().rstrip(".").strip("[]"), port) in self.allowed

    def allows_address(self, address: str, port: int) -> bool:
        """Whether an address a name resolved to may be reached: a public one, or one listed itself."""
        canonical = _address(address.split("%", 1)[0])  # an IPv6 zone index says which link, not where
        if canonical is None:
            return False
        return is_public(canonical) or (canonical, port) in self._listed_addresses

    @functools.cached_property
    def _listed_addresses(self) -> frozenset[tuple[str, int]]:
        return frozenset((a, p) for h, p in self.allowed if (a := _address(h)) is not None)

    async def addresses(self, host: str, port: int, resolver: Resolver = resolve) -> list[str]:
        """Resolve an allowed ``host`` once: the addresses to connect to, in the resolver's order.

        Raises :class:`NotAllowedAddress` when none may be reached (a listed name pointing at
        loopback, a private or a link-local address is refused unless that address is listed
        itself), and ``OSError`` when the name does not resolve.
        """
        found = await resolver(host, port)
        usable = [a for a in found if self.allows_address(a, port)]
        if not usable:
            raise NotAllowedAddress(host, port, found)
        return usable


@dataclass(frozen=True)
class Caps:
    """Bounds on what clients may hold: ``connections`` in all and ``per_client`` (by address);
    ``idle`` seconds between requests or within one, ``tunnel_idle`` seconds of silence in a
    CONNECT tunnel; a request head of ``header_bytes`` and ``header_fields`` lines at most."""

    connections: int = 512
    per_client: int = 64
    idle: float = 60.0
    tunnel_idle: float = 600.0
    header_bytes: int = 16384
    header_fields: int = 100

    def __post_init__(self) -> None:
        for name in ("connections", "per_client", "header_bytes", "header_fields"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"limits.{name} must be a positive integer, not {getattr(self, name)!r}")
        for name in ("idle", "tunnel_idle"):
            if not isinstance(getattr(self, name), int | float) or not getattr(self, name) > 0:
                raise ConfigError(f"limits.{name} must be a positive number of seconds, "
                                  f"not {getattr(self, name)!r}")

    def fitted_to_file_limit(self, reserve: int) -> tuple[int, str | None]:
        """The connection cap the process's open-file limit can carry (two descriptors per client,
        its own and the upstream's, beside ``reserve`` others), raising the soft limit toward
        the hard one if needed; and a note when the cap had to be lowered."""
        need = 2 * self.connections + reserve
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < need:
            target = need if hard == resource.RLIM_INFINITY else min(need, hard)
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
            except (ValueError, OSError):
                pass
        if soft == resource.RLIM_INFINITY or soft >= need:
            return self.connections, None
        cap = max(1, (soft - reserve) // 2)
        return cap, (f"the open-file limit ({soft}) carries {cap} connections, not {self.connections}: "
                     f"connections capped at {cap}")
