# The two commands that matter: `make up` runs the stack and translates the sample book;
# `make test` runs the whole test suite. Both set up everything they need first.
.PHONY: up test setup lint bench

setup:
	@scripts/setup.sh

up: setup
	.venv/bin/folio-dev up

test:
	scripts/test.sh

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
