"""The ``folio`` command: global options, error reporting, and the commands."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from folio_cli.errors import EXIT_CODES_HELP, CliError, ExitCode
from folio_cli.gateway import Gateway

DEFAULT_URL = "http://127.0.0.1:8000"


class FolioGroup(TyperGroup):
    """Reports every failure as one line on stderr (``folio: error: ...``) and exits with
    its code: a :class:`CliError`, or a usage error (bad arguments) instead of a help box."""

    def make_context(self, *args: Any, **kwargs: Any) -> typer.Context:
        with _one_line_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: typer.Context) -> Any:
        with _one_line_errors():
            return super().invoke(ctx)


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except CliError as exc:
        typer.echo(f"folio: error: {exc.message}", err=True)
        raise typer.Exit(int(exc.code)) from None
    except TyperException as exc:
        message = " ".join(exc.format_message().split())
        if exc.exit_code != ExitCode.USAGE or not message:
            raise  # not a usage error, or the help shown for a bare ``folio``
        sub = getattr(exc, "ctx", None)
        where = sub.command_path if sub is not None else "folio"
        typer.echo(f"folio: error: {message} (see: {where} --help)", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    except KeyboardInterrupt:
        typer.echo("folio: interrupted", err=True)
        raise typer.Exit(ExitCode.INTERRUPTED) from None


app = typer.Typer(
    name="folio",
    cls=FolioGroup,
    help=(
        "Translate books with Folio and manage your translation jobs, through the gateway.\n\n"
        "The gateway's address comes from --url or FOLIO_URL, your bearer token from "
        "--token or FOLIO_TOKEN (for development: export FOLIO_TOKEN=$(scripts/dev-token "
        "alice)). Your own provider key is read from FOLIO_API_KEY (or asked for with "
        "--ask-key), never from the command line.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    add_completion=False,
    pretty_exceptions_enable=bool(os.environ.get("FOLIO_DEBUG")),
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass(frozen=True)
class Connection:
    url: str
    token: str | None

    def gateway(self) -> Gateway:
        token = (self.token or "").strip().removeprefix("Bearer ").strip()
        if not token:
            raise CliError(
                "no token: set FOLIO_TOKEN (for development: export "
                "FOLIO_TOKEN=$(scripts/dev-token alice)) or pass --token",
                ExitCode.AUTH,
            )
        return Gateway(self.url, token)


@app.callback()
def connection(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option("--url", envvar="FOLIO_URL", help="The gateway's address.")
    ] = DEFAULT_URL,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="FOLIO_TOKEN",
            help="Your bearer token (scripts/dev-token prints one for development).",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = Connection(url, token)


def gateway_of(ctx: typer.Context) -> Gateway:
    connection: Connection = ctx.find_object(Connection)  # type: ignore[assignment]
    return connection.gateway()
