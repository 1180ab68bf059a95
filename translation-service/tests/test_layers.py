"""The layers stay apart: routes call services, never queries or storage."""

from __future__ import annotations

import ast
from pathlib import Path

import folio_translation

PACKAGE = Path(folio_translation.__file__).parent
# What only services (and the app factory) may reach.
BELOW_THE_SERVICES = (
    "folio_translation.repository",
    "folio_translation.models",
    "folio.storage",
    "folio.messaging",
    "sqlalchemy",
    "sqlmodel",
)


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_routes_import_no_repository_storage_or_tables() -> None:
    routes = sorted((PACKAGE / "api").glob("*.py"))
    assert {p.name for p in routes} >= {"jobs.py", "progress.py", "downloads.py"}
    for path in routes:
        below = {m for m in imported(path) if m.startswith(BELOW_THE_SERVICES)}
        assert not below, f"{path.name} reaches past the services: {sorted(below)}"


def test_services_raise_domain_errors_not_http_problems() -> None:
    for path in sorted((PACKAGE / "service").glob("*.py")):
        tree = ast.parse(path.read_text())
        problems = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id in ("Problem", "HTTPException")
        ]
        assert not problems, f"{path.name} raises HTTP errors at lines {problems}"
