"""Command line entry point: ``folio-fake-llm`` / ``python -m folio_fakellm``."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from folio_fakellm.app import create_app
from folio_fakellm.settings import FakeLLMSettings


def main(argv: list[str] | None = None) -> None:
    """Parse ``--host``/``--port`` (other settings come from ``FAKE_LLM_*``) and serve."""
    settings = FakeLLMSettings()
    parser = argparse.ArgumentParser(
        prog="folio-fake-llm",
        description="Fake LLM server for Folio; other settings come from FAKE_LLM_* env vars.",
    )
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args(argv)
    settings = settings.model_copy(update={"host": args.host, "port": args.port})
    level = settings.log_level
    logging.basicConfig(level=logging.DEBUG if level == "trace" else level.upper())
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=level,
        access_log=level == "debug",
        backlog=4096,
        # Stopping must not wait out a slow marker's sleep (tests and benches stop it mid-run).
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
