"""The ``folio`` console script: the app with every command registered."""

from __future__ import annotations

from folio_cli import estimate, manage, retranslate, translate  # noqa: F401  (their commands register on ``app``)
from folio_cli.app import app


def main() -> None:
    app()
