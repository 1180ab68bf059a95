"""The layers stay apart: routes call services, services raise domain errors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import folio_community
import folio_users

BELOW_THE_SERVICES = (
    "repository",
    "models",
    "folio.storage",
    "folio.messaging",
    "sqlalchemy",
    "sqlmodel",
)
PACKAGES = [Path(folio_community.__file__).parent, Path(folio_users.__file__).parent]


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_routes_import_no_repository_storage_messaging_or_tables(package: Path) -> None:
    routes = sorted((package / "api").glob("*.py"))
    assert len(routes) >= 4
    for path in routes:
        below = {
            m
            for m in imported(path)
            if m.startswith(BELOW_THE_SERVICES[2:])
            or m.rsplit(".", 1)[-1] in BELOW_THE_SERVICES[:2]
        }
        assert not below, f"{path.name} reaches past the services: {sorted(below)}"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_services_raise_domain_errors_not_http_problems(package: Path) -> None:
    services = sorted((package / "service").glob("*.py"))
    assert len(services) >= 4
    for path in services:
        names = [
            node.lineno
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Name) and node.id in ("Problem", "HTTPException")
        ]
        assert not names, f"{path.name} raises HTTP errors at lines {names}"
