"""The client depends on the gateway's HTTP API only: it imports no service and not the
service kit, so it installs and runs on a machine that has none of them."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "folio_cli"
ALLOWED = {"folio_cli", "typer", "rich", "httpx", "httpx_sse"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_client_imports_only_its_libraries_and_the_standard_library():
    for module in sorted(PACKAGE.glob("*.py")):
        third_party = imported_roots(module) - set(sys.stdlib_module_names) - {"__future__"}
        assert third_party <= ALLOWED, (module.name, third_party - ALLOWED)


def test_the_package_depends_on_no_workspace_member():
    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("folio")]
    assert project["scripts"] == {"folio": "folio_cli.main:main"}
