"""Proxyter's configuration file (TOML), checked with errors that name the file and the key.

::

    listen = "127.0.0.1:8899"          # where Proxyter accepts clients
    strategy = "least_loaded"          # or round_robin, weighted
    max_failures = 3                   # dropped connections / timeouts in a row before a quarantine
    probe_interval = 30.0              # seconds between probes of idle proxies

    [pools]
    history = ["http://10.0.0.1:3128", { url = "http://10.0.0.2:3128", weight = 2 }]
    "*" = ["direct"]

    [route]                            # request type (the client's proxy user name) -> pool
    candles = "history"

    [per_proxy]
    concurrency = 8                    # and/or count = 100, per = 1.0

    [per_pool.history]
    concurrency = 16

    [auth]                             # required to listen beyond loopback
    users = { candles = "long-secret" }  # user (= request type) -> password
    tokens = ["another-long-secret"]   # accepted as the password of any user name

    [allow]                            # destinations clients may reach; anything else: 403
    venues = true                      # the venues' REST/WS hosts (TRADEFLOOD_*_URL overrides too)
    hosts = ["api.example.com:443"]    # more host:port ('host' alone: ports 80 and 443); a name
                                       # resolving to a loopback/private/link-local address is
                                       # refused unless that address is listed ("10.0.0.5:443")

    [limits]
    connections = 512                  # client connections in all
    per_client = 64                    # per client address
    idle = 60.0                        # seconds a connection may wait for (or within) a request
    tunnel_idle = 600.0                # seconds of silence before a CONNECT tunnel is closed
    header_bytes = 16384               # largest request head (431 beyond)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..ratelimit import Limit
from ._access import Caps, ClientAuth, Destinations, is_loopback
from ._scheme import ProxyScheme

__all__ = ["ProxyterConfig", "load_config"]

_TOP = {"listen", "strategy", "max_failures", "blocked_after", "probe_interval", "probe_timeout",
        "pools", "route", "per_proxy", "per_pool", "auth", "allow", "limits"}


@dataclass(frozen=True)
class ProxyterConfig:
    """What a configuration file says: where to listen, the scheme, who may use it and where
    to (``allow`` None: the venues' hosts, resolved when Proxyter starts), and its caps."""

    host: str
    port: int
    scheme: ProxyScheme
    auth: ClientAuth = field(default_factory=ClientAuth)
    allow: Destinations | None = None
    caps: Caps = field(default_factory=Caps)


def _limit(value: object, where: str) -> Limit:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table like {{ concurrency = 8 }}, not {value!r}")
    unknown = set(value) - {"count", "per", "concurrency"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; valid: concurrency, count, per")
    try:
        return Limit(int(value.get("count", 0)), float(value.get("per", 0.0)),
                     concurrency=int(value["concurrency"]) if "concurrency" in value else None)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _listen(value: object, where: str) -> tuple[str, int]:
    host, sep, port = str(value).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"{where}: listen = {value!r}; expected 'host:port', e.g. '127.0.0.1:8899'")
    return host, int(port)


def parse_config(data: dict[str, Any], source: str = "config") -> ProxyterConfig:
    """Check a parsed configuration and build its scheme."""
    unknown = set(data) - _TOP
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {sorted(unknown)}; valid: {', '.join(sorted(_TOP))}")
    if "pools" not in data or not isinstance(data["pools"], dict):
        raise ConfigError(f"{source}: a [pools] table is required, e.g. [pools] \"*\" = [\"http://host:3128\"]")
    route = data.get("route", {})
    if not isinstance(route, dict) or not all(isinstance(v, str) for v in route.values()):
        raise ConfigError(f"{source}: [route] maps request types to pool names, e.g. candles = \"history\"")
    per_pool = data.get("per_pool", {})
    if not isinstance(per_pool, dict):
        raise ConfigError(f"{source}: [per_pool.NAME] tables give each pool's limit")
    host, port = _listen(data.get("listen", "127.0.0.1:8899"), source)
    try:
        scheme = ProxyScheme(
            data["pools"], route,
            strategy=data.get("strategy", "least_loaded"),
            per_proxy=_limit(data["per_proxy"], f"{source} [per_proxy]") if "per_proxy" in data else None,
            per_pool={name: _limit(v, f"{source} [per_pool.{name}]") for name, v in per_pool.items()} or None,
            max_failures=int(data.get("max_failures", 3)),
            blocked_after=int(data.get("blocked_after", 2)),
            probe_interval=float(data.get("probe_interval", 30.0)),
            probe_timeout=float(data.get("probe_timeout", 3.0)),
            check_routes=False,
        )
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {exc}") from None
    for egress in scheme.egresses:
        if not egress.proxy.is_direct and not egress.proxy.url.startswith("http://"):
            raise ConfigError(f"{source}: Proxyter forwards through http:// proxies or 'direct', "
                              f"not {egress.name}")
    auth = _auth(data.get("auth", {}), source)
    if not is_loopback(host) and not auth.required:
        raise ConfigError(f"{source}: listen = '{host}:{port}' is beyond loopback, and Proxyter will not "
                          "serve there without client authentication: add [auth] users or tokens")
    return ProxyterConfig(host, port, scheme, auth, _allow(data.get("allow", {}), source),
                          _caps(data.get("limits", {}), source))


def _table(value: object, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(value) - keys
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; valid: {', '.join(sorted(keys))}")
    return value


def _auth(value: object, source: str) -> ClientAuth:
    table = _table(value, {"users", "tokens"}, f"{source} [auth]")
    users, tokens = table.get("users", {}), table.get("tokens", [])
    if not isinstance(users, dict) or not isinstance(tokens, list):
        raise ConfigError(f"{source} [auth]: users = {{ name = \"password\" }}, tokens = [\"token\", ...]")
    try:
        return ClientAuth(dict(users), tuple(tokens))
    except ConfigError as exc:
        raise ConfigError(f"{source} [auth]: {exc}") from None


def _allow(value: object, source: str) -> Destinations | None:
    table = _table(value, {"venues", "hosts"}, f"{source} [allow]")
    hosts, venues = table.get("hosts", []), table.get("venues", True)
    if not isinstance(hosts, list) or not isinstance(venues, bool):
        raise ConfigError(f"{source} [allow]: venues = true|false, hosts = [\"host:port\", ...]")
    try:
        # the venues' hosts are resolved when Proxyter starts; the listed ones are checked now
        listed = Destinations.parse(hosts, venues=False)
    except ConfigError as exc:
        raise ConfigError(f"{source} [allow]: {exc}") from None
    return None if venues and not hosts else (Destinations.parse(hosts) if venues else listed)


def _caps(value: object, source: str) -> Caps:
    keys = {"connections", "per_client", "idle", "tunnel_idle", "header_bytes", "header_fields"}
    table = _table(value, keys, f"{source} [limits]")
    try:
        return Caps(**table)
    except ConfigError as exc:
        raise ConfigError(f"{source} [limits]: {exc}") from None


def load_config(path: str | Path) -> ProxyterConfig:
    """Read and check a Proxyter TOML file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the Proxyter configuration {str(path)!r}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))
