"""Local infrastructure: make sure PostgreSQL and RabbitMQ run, starting or installing them.

Order of attempts: already listening -> start an installed server (Debian's pg_ctlcluster,
``rabbitmq-server -detached``, ``service``, ``systemctl``, Homebrew) -> install it with
apt-get when we are root on a Debian-like machine -> give up with a clear message.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence

import asyncpg


class InfraError(RuntimeError):
    pass


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _run(cmd: Sequence[str], timeout: float = 180) -> bool:
    if shutil.which(cmd[0]) is None:
        return False
    try:
        result = subprocess.run(list(cmd), capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _wait_port(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.5)
    return False


def _apt_install(*packages: str) -> bool:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"installing {' '.join(packages)} with apt-get ...", flush=True)
    subprocess.run(["apt-get", "update", "-q"], env=env, check=False, capture_output=True)
    return (
        subprocess.run(
            ["apt-get", "install", "-y", "-q", *packages],
            env=env,
            check=False,
            capture_output=True,
        ).returncode
        == 0
    )


def _start_postgres() -> None:
    for version_dir in sorted(glob.glob("/etc/postgresql/*")):
        version = os.path.basename(version_dir)
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"])
        if port_open("127.0.0.1", 5432):
            return
    for cmd in (
        ["service", "postgresql", "start"],
        ["systemctl", "start", "postgresql"],
        ["brew", "services", "start", "postgresql"],
    ):
        if _run(cmd) and _wait_port("127.0.0.1", 5432, 15):
            return


def ensure_postgres(host: str = "127.0.0.1", port: int = 5432) -> None:
    if port_open(host, port):
        return
    if host not in ("127.0.0.1", "localhost"):
        raise InfraError(f"PostgreSQL at {host}:{port} is not reachable")
    print("PostgreSQL is not running; starting it ...", flush=True)
    _start_postgres()
    if not port_open(host, port) and not glob.glob("/etc/postgresql/*"):
        if _apt_install("postgresql"):
            _start_postgres()
    if not _wait_port(host, port, 30):
        raise InfraError(
            "PostgreSQL is not running on 127.0.0.1:5432 and could not be started or "
            "installed here; start it (or set FOLIO_BOOTSTRAP_DATABASE_URL) and retry."
        )


def _start_rabbitmq() -> None:
    for cmd in (
        ["rabbitmq-server", "-detached"],
        ["service", "rabbitmq-server", "start"],
        ["systemctl", "start", "rabbitmq-server"],
        ["brew", "services", "start", "rabbitmq"],
    ):
        if _run(cmd, timeout=60) and _wait_port("127.0.0.1", 5672, 60):
            return


def ensure_rabbitmq(host: str = "127.0.0.1", port: int = 5672) -> None:
    if port_open(host, port):
        return
    if host not in ("127.0.0.1", "localhost"):
        raise InfraError(f"RabbitMQ at {host}:{port} is not reachable")
    print("RabbitMQ is not running; starting it ...", flush=True)
    _start_rabbitmq()
    if not port_open(host, port) and shutil.which("rabbitmq-server") is None:
        if _apt_install("rabbitmq-server"):
            _start_rabbitmq()
    if not _wait_port(host, port, 60):
        raise InfraError(
            "RabbitMQ is not running on 127.0.0.1:5672 and could not be started or "
            "installed here; start it and retry."
        )


def ensure_vhost(vhost: str) -> bool:
    """Create a RabbitMQ virtual host for guest; False when rabbitmqctl is not usable."""
    if vhost in ("", "/"):
        return True
    if not _run(["rabbitmqctl", "-q", "add_vhost", vhost], timeout=60):
        # It may already exist; permissions decide whether we can use it.
        pass
    return _run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], 60
    )


def delete_vhost(vhost: str) -> None:
    if vhost not in ("", "/"):
        _run(["rabbitmqctl", "-q", "delete_vhost", vhost], timeout=60)


async def wait_for_amqp(url: str, seconds: float = 60) -> None:
    """The port opens before RabbitMQ accepts logins: wait for a real handshake."""
    import aio_pika

    deadline = time.monotonic() + seconds
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            connection = await aio_pika.connect(url, timeout=5)
            await connection.close()
            return
        except Exception as exc:
            last = exc
            await asyncio.sleep(1)
    raise InfraError(f"RabbitMQ does not accept connections: {last}")


async def check_postgres_login(admin_url: str) -> None:
    try:
        conn = await asyncpg.connect(admin_url, timeout=10)
    except Exception as exc:
        raise InfraError(
            f"Cannot log in to PostgreSQL as the bootstrap user ({type(exc).__name__}: {exc}). "
            "Set FOLIO_BOOTSTRAP_DATABASE_URL to a superuser URL, e.g. "
            "postgresql://postgres:PASSWORD@127.0.0.1:5432/postgres"
        ) from exc
    await conn.close()


def _start_redis() -> None:
    for cmd in (
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        ["service", "redis-server", "start"],
        ["systemctl", "start", "redis-server"],
        ["brew", "services", "start", "redis"],
    ):
        if _run(cmd, timeout=30) and _wait_port("127.0.0.1", 6379, 15):
            return


def ensure_redis(host: str = "127.0.0.1", port: int = 6379) -> bool:
    """Redis is optional (workers fall back to in-process pacing and caching); start it
    when it is installed, install it when we can. True when it runs."""
    if port_open(host, port):
        return True
    if host not in ("127.0.0.1", "localhost"):
        return False
    print("Redis is not running; starting it ...", flush=True)
    _start_redis()
    if not port_open(host, port) and shutil.which("redis-server") is None:
        if _apt_install("redis-server"):
            _start_redis()
    return _wait_port(host, port, 15)
