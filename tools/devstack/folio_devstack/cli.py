"""``folio-dev``: run the whole stack locally, mint development tokens, check infrastructure."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from folio_devstack import infra
from folio_devstack.stack import DEFAULT_PORTS, REPO_ROOT, Stack, StackConfig
from folio_devstack.tokens import mint_dev_token

STATE_DIR = REPO_ROOT / ".dev"
DEFAULT_BOOK = REPO_ROOT / "samples" / "dream-of-a-ridiculous-man.txt"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# The demo's fake model answers like a real one, about ten times faster: a first token
# after 50 ms, then 0.2 ms per generated character.
DEMO_LATENCY = {"FAKE_LLM_LATENCY_BASE_MS": "50", "FAKE_LLM_LATENCY_PER_CHAR_MS": "0.2"}


def resolve_admin_url(state_dir: Path) -> str:
    """A superuser URL: the configured one, the default, or a role we create on first run."""
    configured = os.environ.get("FOLIO_BOOTSTRAP_DATABASE_URL")
    if configured:
        asyncio.run(infra.check_postgres_login(configured))
        return configured
    saved = state_dir / "admin-url"
    for candidate in ([saved.read_text().strip()] if saved.exists() else []) + [DEFAULT_ADMIN_URL]:
        with contextlib.suppress(infra.InfraError):
            asyncio.run(infra.check_postgres_login(candidate))
            return candidate
    # A fresh server with password auth on TCP: create our own superuser through the
    # local socket as the postgres OS user (possible when we are root).
    if os.geteuid() == 0 and shutil.which("runuser"):
        import secrets as pysecrets

        password = pysecrets.token_urlsafe(18)
        statement = (
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='folio_admin') "
            "THEN CREATE ROLE folio_admin SUPERUSER LOGIN; END IF; END $$; "
            f"ALTER ROLE folio_admin PASSWORD '{password}';"
        )
        subprocess.run(
            ["runuser", "-u", "postgres", "--", "psql", "-qc", statement],
            check=True,
            capture_output=True,
        )
        url = f"postgresql://folio_admin:{password}@127.0.0.1:5432/postgres"
        state_dir.mkdir(parents=True, exist_ok=True)
        saved.write_text(url)
        saved.chmod(0o600)
        asyncio.run(infra.check_postgres_login(url))
        return url
    raise infra.InfraError(
        "Cannot log in to PostgreSQL as a superuser; set FOLIO_BOOTSTRAP_DATABASE_URL."
    )


def _ensure_ports_free(ports: dict[str, int]) -> None:
    busy = [f"{name}:{port}" for name, port in ports.items() if infra.port_open("127.0.0.1", port)]
    if busy:
        raise SystemExit(
            f"ports already in use ({', '.join(busy)}); is another stack running? Stop it first."
        )


async def _run_up(stack: Stack, book: Path | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await infra.wait_for_amqp(stack.config.amqp_url)
        print("bootstrapping the database and applying migrations ...", flush=True)
        await stack.prepare_database()
        print("starting the fake LLM and the five services ...", flush=True)
        await stack.start()
        cfg = stack.config
        print(f"gateway ready at {cfg.url('gateway')} (logs in {cfg.log_dir})", flush=True)
        if book is not None:
            from folio_devstack.demo import translate_book

            result = await translate_book(stack, book, REPO_ROOT / "out")
            print(f"translated book: {result}", flush=True)
        print("the stack keeps running; press Ctrl-C to stop it.", flush=True)
        await stop.wait()
    finally:
        print("stopping ...", flush=True)
        stack.stop()


def cmd_up(args: argparse.Namespace) -> None:
    infra.ensure_postgres()
    infra.ensure_rabbitmq()
    redis = infra.ensure_redis()
    vhost = "folio" if infra.ensure_vhost("folio") else "/"
    config = StackConfig(
        state_dir=STATE_DIR,
        admin_url=resolve_admin_url(STATE_DIR),
        amqp_url=f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}",
        ports=dict(DEFAULT_PORTS),
        fake_llm_env=DEMO_LATENCY,
        log_format="text",
        redis_url="redis://127.0.0.1:6379/0" if redis else None,
    )
    _ensure_ports_free(config.ports)
    asyncio.run(_run_up(Stack(config), None if args.no_demo else Path(args.book)))


def cmd_token(args: argparse.Namespace) -> None:
    role = None if args.role == "none" else args.role
    print(mint_dev_token(STATE_DIR, args.user_id, admin=args.admin, role=role))


def cmd_infra(_: argparse.Namespace) -> None:
    infra.ensure_postgres()
    infra.ensure_rabbitmq()
    redis = infra.ensure_redis()
    print("PostgreSQL and RabbitMQ are running" + (", and Redis." if redis else "; Redis is not."))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="folio-dev", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run the stack and translate the sample book")
    up.add_argument("--book", default=str(DEFAULT_BOOK), help="the book to translate")
    up.add_argument("--no-demo", action="store_true", help="only run the stack")
    up.set_defaults(func=cmd_up)
    token = commands.add_parser("token", help="print a development bearer token")
    token.add_argument("user_id")
    token.add_argument("--admin", action="store_true")
    token.add_argument(
        "--role",
        default="user",
        choices=["user", "moderator", "admin", "super_admin", "none"],
        help="the token's public_metadata.role (none: no role claim)",
    )
    token.set_defaults(func=cmd_token)
    commands.add_parser("infra", help="start PostgreSQL and RabbitMQ").set_defaults(func=cmd_infra)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except infra.InfraError as exc:
        print(f"folio-dev: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
