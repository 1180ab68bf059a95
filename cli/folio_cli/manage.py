"""Commands on existing jobs: jobs, show, cancel, resume, download."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from folio_cli.app import app, gateway_of
from folio_cli.display import job_details, jobs_table, untranslated_line
from folio_cli.params import OUTPUT_FORMATS, Follow, FollowDir, FollowOutput, parse_outputs
from folio_cli.translate import finish, watch

JobId = Annotated[int, typer.Argument(min=1, help="The job's id (see `folio jobs`).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the gateway's JSON.")]


def _console() -> Console:
    return Console(soft_wrap=True, highlight=False)


@app.command()
def jobs(
    ctx: typer.Context,
    page: Annotated[int, typer.Option(min=1, help="Page number, from 1.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=1000, help="Jobs per page.")] = 20,
    as_json: AsJson = False,
) -> None:
    """List your jobs, newest first."""
    gateway = gateway_of(ctx)
    try:
        rows = gateway.jobs(skip=(page - 1) * per_page, limit=per_page)
    finally:
        gateway.close()
    console = _console()
    if as_json:
        console.print_json(json.dumps(rows))
    elif not rows:
        console.print("no jobs" if page == 1 else f"no jobs on page {page}")
    else:
        console.print(jobs_table(rows))
        if len(rows) == per_page:
            console.print(f"more: folio jobs --page {page + 1}")


@app.command()
def show(ctx: typer.Context, job_id: JobId, as_json: AsJson = False) -> None:
    """Show one of your jobs: status, progress, usage, estimate, outputs."""
    gateway = gateway_of(ctx)
    try:
        job = gateway.job(job_id)
    finally:
        gateway.close()
    console = _console()
    if as_json:
        console.print_json(json.dumps(job))
    else:
        console.print(job_details(job))
        if line := untranslated_line(job):
            console.print(line)


@app.command()
def cancel(ctx: typer.Context, job_id: JobId) -> None:
    """Cancel a job: no more model calls are made for it."""
    gateway = gateway_of(ctx)
    try:
        job = gateway.cancel(job_id)
    finally:
        gateway.close()
    _console().print(f"job {job['id']}: {job['status'].lower()}")


@app.command()
def resume(
    ctx: typer.Context,
    job_id: JobId,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, help="A new, higher spending cap in tokens.")
    ] = None,
    follow: Follow = False,
    output: FollowOutput = "default",
    out_dir: FollowDir = Path("."),
) -> None:
    """Resume a paused job, optionally with a higher spending cap."""
    formats = parse_outputs(output)
    console = _console()
    gateway = gateway_of(ctx)
    try:
        body = {"max_tokens": max_tokens} if max_tokens is not None else {}
        job = gateway.resume(job_id, body)
        console.print(f"job {job['id']}: {job['status'].lower()}")
        if follow:
            final = watch(gateway, console, job, after=None)  # from now: not its history
            finish(gateway, console, final, formats, out_dir)
    finally:
        gateway.close()


@app.command()
def download(
    ctx: typer.Context,
    job_id: JobId,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-F",
            help=f"Comma separated: default, {', '.join(OUTPUT_FORMATS)}.",
        ),
    ] = "default",
    out_dir: Annotated[
        Path, typer.Option(file_okay=False, help="Folder the files are written to.")
    ] = Path("."),
) -> None:
    """Download a job's outputs (the translated book by default)."""
    console = _console()
    gateway = gateway_of(ctx)
    try:
        for fmt in parse_outputs(format) or [None]:
            console.print(f"saved {gateway.download(job_id, fmt, out_dir)}")
    finally:
        gateway.close()
