"""Every FOLIO_* variable the deployment files set is one the receiving process reads.

A renamed or removed setting otherwise leaves a dead variable behind in compose or k8s,
and the deployment silently runs on the default (a wrong model, no shared cache).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic_settings import BaseSettings

from folio_community.settings import CommunitySettings
from folio_gateway.settings import GatewaySettings
from folio_translation.settings import TranslationSettings
from folio_users.settings import UserSettings
from folio_worker.settings import WorkerSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
K8S = REPO / "k8s"

# Read directly from the environment by folio-bootstrap-db (folio.db.bootstrap).
BOOTSTRAP_VARIABLES = {
    "FOLIO_BOOTSTRAP_DATABASE_URL",
    "FOLIO_DATABASE_NAME",
    "FOLIO_BOOTSTRAP_SERVICES",
    "FOLIO_DB_PASSWORD_TRANSLATION",
    "FOLIO_DB_PASSWORD_COMMUNITY",
    "FOLIO_DB_PASSWORD_USERS",
}


def variables(settings: type[BaseSettings]) -> set[str]:
    prefix = settings.model_config.get("env_prefix", "")
    return {(prefix + name).upper() for name in settings.model_fields}


READS = {
    "gateway": variables(GatewaySettings),
    "translation-service": variables(TranslationSettings),
    "community-service": variables(CommunitySettings),
    "user-service": variables(UserSettings),
    "worker-service": variables(WorkerSettings),
}
COMPOSE_READERS = {
    **{name: reads for name, reads in READS.items()},
    "migrate-translation": READS["translation-service"],
    "migrate-community": READS["community-service"],
    "migrate-users": READS["user-service"],
    "db-bootstrap": BOOTSTRAP_VARIABLES,
}


def folio_variables(names) -> set[str]:
    return {name for name in names if name.startswith("FOLIO_")}


def test_the_settings_are_the_ones_deployments_rely_on() -> None:
    # Guards the check itself: a broken import path would make every set empty.
    assert {"FOLIO_DEFAULT_LLM_MODEL", "FOLIO_CREDENTIALS_KEY"} <= READS["translation-service"]
    assert {"FOLIO_LLM_API_KEY", "FOLIO_REDIS_URL", "FOLIO_CREDENTIALS_KEY"} <= READS[
        "worker-service"
    ]


@pytest.mark.parametrize("service", sorted(COMPOSE_READERS))
def test_compose_sets_only_variables_the_service_reads(service: str) -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    env = compose["services"][service].get("environment") or {}
    unknown = folio_variables(env) - COMPOSE_READERS[service]
    assert not unknown, f"{service} is given settings it never reads: {sorted(unknown)}"


def test_k8s_shared_config_holds_only_variables_some_service_reads() -> None:
    for path in [K8S / "base" / "kustomization.yaml", *K8S.glob("overlays/*/kustomization.yaml")]:
        kustomization = yaml.safe_load(path.read_text())
        for generator in kustomization.get("configMapGenerator", []):
            names = {literal.split("=", 1)[0] for literal in generator.get("literals", [])}
            unknown = folio_variables(names) - set().union(*READS.values())
            assert not unknown, f"{path.relative_to(REPO)}: unread settings {sorted(unknown)}"


def test_k8s_service_secrets_hold_only_variables_the_service_reads() -> None:
    template = yaml.safe_load_all((K8S / "base" / "secrets.template.yaml").read_text())
    secrets = {doc["metadata"]["name"]: set(doc["stringData"]) for doc in template if doc}
    for service, reads in READS.items():
        keys = secrets[f"{service}-secrets"]
        assert keys, service
        unknown = folio_variables(keys) - reads
        assert not unknown, f"{service}-secrets: unread settings {sorted(unknown)}"
    assert folio_variables(secrets["db-bootstrap-secrets"]) <= BOOTSTRAP_VARIABLES
    # Users' sealed keys are opened by the worker with the key that sealed them.
    assert "FOLIO_CREDENTIALS_KEY" in secrets["translation-service-secrets"]
    assert "FOLIO_CREDENTIALS_KEY" in secrets["worker-service-secrets"]
