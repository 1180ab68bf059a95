"""The command line every service shares: ``<service> serve`` and ``<service> migrate``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from folio.settings import DatabaseSettings, ServiceSettings


def run_service_cli(
    *,
    prog: str,
    app_factory: str,
    settings_factory: Callable[[], ServiceSettings],
    migrations: Path | None = None,
    argv: list[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser(prog=prog)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server (and its consumers)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    if migrations is not None:
        commands.add_parser("migrate", help="apply this service's database migrations")
    args = parser.parse_args(argv)
    settings = settings_factory()

    if args.command == "migrate":
        assert isinstance(settings, DatabaseSettings) and migrations is not None
        from folio.db.migrations import upgrade

        upgrade(migrations, settings.database_url.get_secret_value(), settings.database_schema)
        print(f"{prog}: schema {settings.database_schema!r} migrated to head")
        return

    import uvicorn

    uvicorn.run(
        app_factory,
        factory=True,
        host=args.host or settings.http_host,
        port=args.port or settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.graceful_timeout_s),
        # Longer than the gateway's pooled connections stay idle, so the gateway never
        # sends a request on a connection this server is closing.
        timeout_keep_alive=settings.http_keep_alive_s,
        # Callers need not know what serves them; the gateway sends no Server header.
        server_header=False,
        # Which forwarding headers to believe is the gateway's decision (its
        # trusted_proxy_hops), not the server's; services see the gateway as the client.
        proxy_headers=False,
    )
