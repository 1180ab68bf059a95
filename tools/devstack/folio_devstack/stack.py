"""The whole stack as real local processes: what ``make up`` runs and what tests start.

One :class:`Stack` bootstraps the database (roles, schemas), applies each service's
migrations through its own ``migrate`` command, then starts the fake LLM server and the
five services with their environment, and waits until each reports ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from folio.db.bootstrap import ServiceDatabase, bootstrap
from folio_devstack.secrets import DevSecrets, load_or_create

REPO_ROOT = Path(__file__).resolve().parents[3]

SERVICES = {
    # name: (module, schema or None)
    "translation-service": ("folio_translation", "translation"),
    "community-service": ("folio_community", "community"),
    "user-service": ("folio_users", "users"),
    "worker-service": ("folio_worker", None),
    "gateway": ("folio_gateway", None),
}
DEFAULT_PORTS = {
    "gateway": 8000,
    "translation-service": 8001,
    "community-service": 8002,
    "user-service": 8003,
    "worker-service": 8004,
    "fake-llm": 8090,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StackConfig:
    state_dir: Path
    database: str = "folio"
    admin_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    db_host: str = "127.0.0.1:5432"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    otlp_endpoint: str | None = None
    fake_llm_env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    log_format: str = "json"
    # Keys and database passwords; tests share the developer's so that bootstrapping a
    # test database never changes the passwords a running stack uses.
    secrets_dir: Path | None = None
    redis_url: str | None = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "folio"

    @property
    def storage_dir(self) -> Path:
        return self.state_dir / "storage"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @classmethod
    def with_free_ports(cls, **kwargs) -> StackConfig:  # type: ignore[no-untyped-def]
        return cls(ports={name: free_port() for name in DEFAULT_PORTS}, **kwargs)


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.secrets: DevSecrets = load_or_create(config.secrets_dir or config.state_dir)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        config.log_dir.mkdir(parents=True, exist_ok=True)
        config.storage_dir.mkdir(parents=True, exist_ok=True)

    # -- environment -------------------------------------------------------------------

    def database_url(self, schema: str) -> str:
        password = self.secrets.db_passwords[schema]
        return (
            f"postgresql+asyncpg://folio_{schema}:{password}@{self.config.db_host}/"
            f"{self.config.database}"
        )

    def env_for(self, name: str) -> dict[str, str]:
        cfg = self.config
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("FOLIO_", "OTEL_", "FAKE_LLM_"))
        }
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "OTEL_SERVICE_NAME": name,
                "FOLIO_ENVIRONMENT": "development",
                "FOLIO_LOG_FORMAT": cfg.log_format,
                "FOLIO_HTTP_HOST": "127.0.0.1",
                "FOLIO_HTTP_PORT": str(cfg.ports[name]),
                "FOLIO_RABBITMQ_URL": cfg.amqp_url,
                "FOLIO_STORAGE_DIR": str(cfg.storage_dir),
                "FOLIO_INTERNAL_TOKEN_PUBLIC_KEY": self.secrets.internal_public_pem,
            }
        )
        if cfg.otlp_endpoint:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = cfg.otlp_endpoint
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"
            env["OTEL_BSP_SCHEDULE_DELAY"] = "200"
        schema = SERVICES.get(name, (None, None))[1]
        if schema:
            env["FOLIO_DATABASE_URL"] = self.database_url(schema)
            env["FOLIO_DATABASE_SCHEMA"] = schema
        if name in ("translation-service", "worker-service"):
            env["FOLIO_CREDENTIALS_KEY"] = self.secrets.credentials_key
        if name == "translation-service":
            env["FOLIO_DEFAULT_LLM_MODEL"] = "fake-model"
        if name == "worker-service":
            env["FOLIO_LLM_BASE_URL"] = cfg.url("fake-llm") + "/v1"
        if name in ("worker-service", "community-service", "user-service") and cfg.redis_url:
            env["FOLIO_REDIS_URL"] = cfg.redis_url
            env["FOLIO_REDIS_PREFIX"] = cfg.redis_prefix
        if name == "user-service":
            env["FOLIO_CLERK_WEBHOOK_SECRET"] = self.secrets.webhook_secret
            env["FOLIO_ADMIN_SECRET"] = self.secrets.admin_secret
        if name == "gateway":
            env.update(
                {
                    "FOLIO_UPSTREAM_TRANSLATION_URL": cfg.url("translation-service"),
                    "FOLIO_UPSTREAM_COMMUNITY_URL": cfg.url("community-service"),
                    "FOLIO_UPSTREAM_USERS_URL": cfg.url("user-service"),
                    "FOLIO_UPSTREAM_WORKER_URL": cfg.url("worker-service"),
                    "FOLIO_AUTH_JWKS_URL": cfg.url("gateway") + "/dev-issuer/.well-known/jwks.json",
                    "FOLIO_DEV_ISSUER_PUBLIC_KEY": self.secrets.issuer_public_pem,
                    "FOLIO_INTERNAL_TOKEN_PRIVATE_KEY": self.secrets.internal_private_pem,
                    # One developer (or one test run) is every user: relax the limits.
                    "FOLIO_RATE_LIMIT_SCALE": "100",
                    # The same x-admin-secret user-service guards announcements with.
                    "FOLIO_ADMIN_SECRET": self.secrets.admin_secret,
                }
            )
            if cfg.redis_url:  # rate limits shared as between replicas
                env["FOLIO_REDIS_URL"] = cfg.redis_url
                env["FOLIO_REDIS_PREFIX"] = cfg.redis_prefix
        if name == "fake-llm":
            env.update({"FAKE_LLM_PORT": str(cfg.ports[name]), **cfg.fake_llm_env})
        env.update(cfg.service_env.get(name, {}))
        return env

    def command_for(self, name: str) -> list[str]:
        if name == "fake-llm":
            return [sys.executable, "-m", "folio_fakellm", "--port", str(self.config.ports[name])]
        module = SERVICES[name][0]
        return [sys.executable, "-m", module, "serve"]

    # -- database ----------------------------------------------------------------------

    async def prepare_database(self) -> None:
        await bootstrap(
            self.config.admin_url,
            self.config.database,
            [
                ServiceDatabase(schema, f"folio_{schema}", self.secrets.db_passwords[schema])
                for _, schema in SERVICES.values()
                if schema
            ],
        )
        migrations = [
            asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                "migrate",
                env=self.env_for(name),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            for name, (module, schema) in SERVICES.items()
            if schema
        ]
        for proc in await asyncio.gather(*migrations):
            output, _ = await proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"migration failed:\n{output.decode()[-3000:]}")

    # -- processes ---------------------------------------------------------------------

    def start_process(self, name: str) -> None:
        log = open(self.config.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            self.command_for(name),
            env=self.env_for(name),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def start_replica(
        self, name: str, port: int, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Another process of service ``name`` on ``port`` (a second replica), with its own
        log; the caller stops it (it is not one of the stack's named processes)."""
        environment = {**self.env_for(name), "FOLIO_HTTP_PORT": str(port), **(env or {})}
        with open(self.config.log_dir / f"{name}-{port}.log", "ab") as log:
            return subprocess.Popen(
                self.command_for(name),
                env=environment,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def start(self, *, names: list[str] | None = None, timeout_s: float = 120) -> None:
        names = names or ["fake-llm", *SERVICES]
        for name in names:
            self.start_process(name)
        await self.wait_ready(names, timeout_s=timeout_s)

    async def wait_ready(self, names: list[str], *, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        pending = set(names)
        async with httpx.AsyncClient(timeout=2.0) as client:
            while pending:
                for name in sorted(pending):
                    proc = self.processes.get(name)
                    if proc is not None and proc.poll() is not None:
                        raise RuntimeError(
                            f"{name} exited with {proc.returncode}:\n{self.tail_log(name)}"
                        )
                    path = "/healthz" if name == "fake-llm" else "/readyz"
                    with contextlib.suppress(httpx.HTTPError):
                        response = await client.get(self.config.url(name) + path)
                        if response.status_code == 200:
                            pending.discard(name)
                if pending and time.monotonic() > deadline:
                    logs = "\n".join(f"--- {n}\n{self.tail_log(n)}" for n in pending)
                    raise TimeoutError(f"not ready after {timeout_s}s: {sorted(pending)}\n{logs}")
                if pending:
                    await asyncio.sleep(0.2)

    def tail_log(self, name: str, lines: int = 40) -> str:
        path = self.config.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop_process(self, name: str, *, kill: bool = False, timeout_s: float = 25) -> None:
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        # The gateway first, the worker and the fake LLM last, so in-flight work drains.
        for name in [
            "gateway",
            "translation-service",
            "community-service",
            "user-service",
            "worker-service",
            "fake-llm",
        ]:
            self.stop_process(name)
        for name in list(self.processes):
            self.stop_process(name)
