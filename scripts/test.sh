#!/usr/bin/env bash
# The whole test suite: lint, then every test against real PostgreSQL and RabbitMQ.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/folio-dev infra
exec .venv/bin/python -m pytest "$@"
