"""``tradeflood serve``: run the server (see :mod:`tradeflood.server`)."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["serve"]


@click.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1; beyond loopback needs API keys).")
@click.option("--port", type=int, help="Port (default 8000).")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="TOML settings: [server], [callbacks], [urls.<venue>] (see tradeflood.server).")
def serve(host: str | None, port: int | None, config: Path | None) -> None:
    """Serve REST, WebSocket, long-poll and callbacks over one shared session."""
    try:
        from ._run import run
        from ._settings import ServerSettings
    except ImportError as exc:  # the server's dependencies are an extra
        raise click.ClickException(
            f"the server needs its extra: pip install 'tradeflood[server]' ({exc})") from None
    run(ServerSettings.load(config, host=host, port=port))
