"""``folio estimate``: a book's calls and tokens, from the plan the server makes of it."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from folio_cli.app import app, gateway_of
from folio_cli.display import estimate_text, plan_text
from folio_cli.errors import CliError, ExitCode
from folio_cli.follow import follow
from folio_cli.gateway import Gateway
from folio_cli.options import JobRequest
from folio_cli.params import Book, job_options


@app.command()
@job_options(run=False)
def estimate(
    ctx: typer.Context,
    book: Book,
    request: JobRequest,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
) -> None:
    """Estimate a book's model calls and tokens, without spending any.

    The server estimates a book when it plans it, so this uploads the book as a job capped
    at one token: the job stops before its first model call with its estimate stored, and
    is then deleted. Without --turbo a second, turbo-mode probe gives the translation's
    estimate (its prompts carry no analysis notes, so the real translation needs a little
    more); the analysis estimate comes from the first. A key you give is still checked
    with the provider's cheap live call."""
    console = Console(soft_wrap=True, highlight=False)
    gateway = gateway_of(ctx)
    try:
        result = probe_estimate(gateway, book, request)
    finally:
        gateway.close()
    if as_json:
        console.print_json(json.dumps(result))
        return
    console.print(
        f"{book.name}: {result['segments']} segments; about {result['total_tokens']:,} tokens "
        f"in {result['calls']} model calls"
    )
    for phase in ("analysis", "translation"):
        numbers = result[phase]
        console.print(
            f"  {phase}: {numbers['calls']} calls, {numbers['input_tokens']:,} input + "
            f"{numbers['output_tokens']:,} output tokens"
        )
    if result["plan"]:
        console.print(f"  plan: {plan_text(result['plan'])}")


def probe_estimate(gateway: Gateway, book: Path, request: JobRequest) -> dict[str, Any]:
    probes = [request]
    if not request.turbo:
        probes.append(replace(request, turbo=True, strict=False))
    estimates = [_probe(gateway, book, probe) for probe in probes]
    analysis = estimates[0]["estimate"].get("analysis") or {}
    last = estimates[-1]
    translation = last["estimate"].get("translation") or {}
    zero = {"calls": 0, "input_tokens": 0, "output_tokens": 0}
    analysis, translation = {**zero, **analysis}, {**zero, **translation}
    return {
        "segments": last["segments"],
        "analysis": analysis,
        "translation": translation,
        "calls": analysis["calls"] + translation["calls"],
        "total_tokens": sum(
            p["input_tokens"] + p["output_tokens"] for p in (analysis, translation)
        ),
        "summary": estimate_text(last["estimate"]),
        # the plan of the job as asked for (the turbo probe plans without analysis)
        "plan": estimates[0]["estimate"].get("plan"),
    }


def _probe(gateway: Gateway, book: Path, request: JobRequest) -> dict[str, Any]:
    fields = replace(request, max_tokens=1).form()
    job = gateway.submit(book, fields, str(uuid.uuid4()), request.files())
    try:
        for event in follow(gateway, job["id"]):
            if event.kind == "job":
                job = event.data
        if job["status"] == "FAILED":
            raise CliError(
                f"the book could not be planned: {job.get('error_message')}", ExitCode.REJECTED
            )
        return {"estimate": job.get("estimate") or {}, "segments": job.get("total_segments") or 0}
    finally:
        gateway.delete(job["id"])
