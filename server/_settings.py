"""What a server is told: where it listens, who may use it, and the bounds it keeps.

Settings come from a TOML file (``tradeflood serve --config server.toml``) and the
environment (``TRADEFLOOD_API_KEYS=k1,k2``); the venues' base URLs are the
library's own overrides (``TRADEFLOOD_BITGET_REST_URL``...) or the file's ``[urls]``::

    [server]
    host = "127.0.0.1"
    port = 8000
    api_keys = ["k1"]
    cors_origins = ["https://dash.example"]
    requests_per_second = 20

    [callbacks]
    allow_hosts = ["127.0.0.1"]

    [urls.bitget]
    rest = "http://127.0.0.1:9000"
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tradeflood.errors import ConfigError

__all__ = ["ServerSettings"]


@dataclass
class ServerSettings:
    """Every knob of the server; the defaults suit one machine behind a loopback address."""

    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: frozenset[str] = frozenset()
    cors_origins: tuple[str, ...] = ()
    # per API key (or per client address when no keys are configured)
    requests_per_second: float = 50.0
    burst: int = 100
    max_subscriptions_per_key: int = 2000
    max_sockets_per_key: int = 2000
    # per request and socket
    max_body_bytes: int = 256 * 1024
    max_ws_message_bytes: int = 64 * 1024
    max_subscriptions_per_socket: int = 100
    client_queue_size: int = 2000
    # long-poll
    poll_max_wait: float = 30.0
    poll_linger: float = 60.0
    poll_buffer: int = 1000
    # callbacks
    callback_allow_hosts: tuple[str, ...] = ()
    callback_max_attempts: int = 5
    callback_backoff: float = 0.5
    callback_timeout: float = 5.0
    callback_max_batch: int = 1000
    # lifecycle
    shutdown_timeout: float = 10.0
    store: str | bool | None = True
    urls: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.api_keys = frozenset(self.api_keys)
        self.cors_origins = tuple(self.cors_origins)
        self.callback_allow_hosts = tuple(self.callback_allow_hosts)
        for name in ("requests_per_second", "max_body_bytes", "max_ws_message_bytes", "burst",
                     "max_subscriptions_per_socket", "client_queue_size", "max_subscriptions_per_key",
                     "max_sockets_per_key", "callback_max_attempts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"server setting {name}={value!r}: give a positive number")

    @property
    def loopback(self) -> bool:
        """Whether the listening address is reachable from this machine only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def check_exposure(self) -> None:
        """Refuse to listen beyond loopback with no API key: anyone could spend our limits."""
        if not self.loopback and not self.api_keys:
            raise ConfigError(
                f"refusing to listen on {self.host} without API keys: set TRADEFLOOD_API_KEYS or "
                "[server] api_keys in the config, or listen on 127.0.0.1"
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, **overrides: Any) -> ServerSettings:
        """Settings from ``path`` (TOML), then the environment (``TRADEFLOOD_API_KEYS``,
        ``TRADEFLOOD_SERVER_HOST``, ``TRADEFLOOD_SERVER_PORT``), then ``overrides``."""
        values: dict[str, Any] = {}
        if path is not None:
            try:
                data = tomllib.loads(Path(path).read_text())
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read server config {path}: {exc}") from None
            values.update(_flatten(data, str(path)))
        for name, env in (("host", "TRADEFLOOD_SERVER_HOST"), ("port", "TRADEFLOOD_SERVER_PORT")):
            if os.environ.get(env, "").strip():
                values[name] = os.environ[env].strip()
        if isinstance(values.get("port"), str):
            if not values["port"].isdigit():
                raise ConfigError(f"TRADEFLOOD_SERVER_PORT={values['port']!r}: give a port number")
            values["port"] = int(values["port"])
        keys = os.environ.get("TRADEFLOOD_API_KEYS", "").strip()
        if keys:
            values["api_keys"] = frozenset(values.get("api_keys", ())) | {
                k.strip() for k in keys.split(",") if k.strip()}
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown server settings: {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(sorted(known))}")
        return cls(**values)


def _flatten(data: dict[str, Any], source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section, body in data.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{source}: top-level {section!r} must be a table such as [server]")
        if section == "server":
            out.update(body)
        elif section == "callbacks":
            out.update({f"callback_{k}": v for k, v in body.items()})
        elif section == "urls":
            out["urls"] = body
        else:
            raise ConfigError(f"{source}: unknown table [{section}]; use [server], [callbacks], [urls]")
    return out
