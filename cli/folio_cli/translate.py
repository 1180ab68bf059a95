"""``folio translate``: submit a book, follow its progress, download the outputs."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from folio_cli.app import app, gateway_of
from folio_cli.display import JobProgress, summary_line, untranslated_line
from folio_cli.errors import CliError, ExitCode
from folio_cli.follow import follow
from folio_cli.gateway import Gateway
from folio_cli.options import JobRequest
from folio_cli.params import OUTPUT_FORMATS, Book, job_options, parse_outputs


@app.command()
@job_options(run=True)
def translate(
    ctx: typer.Context,
    book: Book,
    request: JobRequest,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Outputs to download, comma separated: default (EPUB for EPUB books, else "
            f"TXT), {', '.join(OUTPUT_FORMATS)}, or none.",
        ),
    ] = "default",
    out_dir: Annotated[
        Path, typer.Option(file_okay=False, help="Folder the outputs are written to.")
    ] = Path("."),
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            help="Makes a repeated submit return the first one's job (default: a fresh key, "
            "reused by this command's own retries).",
            show_default=False,
        ),
    ] = None,
    detach: Annotated[
        bool, typer.Option("--detach", help="Submit, print the job id and return.")
    ] = False,
) -> None:
    """Translate a book: submit it, follow its progress, download the outputs.

    Exits 0 when the job completed and its outputs were downloaded, 1 when it failed or
    was cancelled, 8 when it paused at its spending cap (raise the cap with
    `folio resume ID --max-tokens N`). A dropped progress stream is reconnected where it
    left off."""
    formats = parse_outputs(output)
    console = Console(stderr=False, soft_wrap=True, highlight=False)
    gateway = gateway_of(ctx)
    try:
        job = gateway.submit(
            book, request.form(), idempotency_key or str(uuid.uuid4()), request.files()
        )
        console.print(f"job {job['id']} submitted: {book.name}")
        if detach:
            return
        job = watch(gateway, console, job)
        finish(gateway, console, job, formats, out_dir)
    finally:
        gateway.close()


def watch(
    gateway: Gateway, console: Console, job: dict[str, Any], *, after: int | None = 0
) -> dict[str, Any]:
    """Follows the job with a progress bar until it stops; the job as it ended. ``after``:
    the first event to show (0: since the job began; None: from now on)."""
    job_id = job["id"]
    with JobProgress(console, job) as bar:
        try:
            for event in follow(
                gateway,
                job_id,
                after=after,
                on_reconnect=lambda seen: console.print(
                    f"job {job_id}: event stream dropped, reconnecting after event {seen}"
                ),
            ):
                if event.kind == "job":
                    bar.update(event.data)
                elif event.kind == "status":
                    bar.status(event.data)
                else:
                    bar.segment(event.data)
        except KeyboardInterrupt:
            raise CliError(
                f"interrupted; job {job_id} goes on (folio show {job_id}, folio cancel {job_id})",
                ExitCode.INTERRUPTED,
            ) from None
        return bar.job


def finish(
    gateway: Gateway,
    console: Console,
    job: dict[str, Any],
    formats: list[str | None],
    out_dir: Path,
) -> None:
    console.print(summary_line(job))
    status = job["status"]
    if status == "PAUSED":
        raise CliError(
            f"job {job['id']} paused: {job.get('status_detail') or 'spending cap reached'} "
            f"(continue with: folio resume {job['id']} --max-tokens N)",
            ExitCode.PAUSED,
        )
    if status != "COMPLETED":
        raise CliError(
            f"job {job['id']} {status.lower()}: {job.get('error_message') or 'no reason given'}",
            ExitCode.JOB_UNFINISHED,
        )
    for fmt in formats:
        path = gateway.download(job["id"], fmt, out_dir)
        console.print(f"saved {path}")
    if line := untranslated_line(job):
        console.print(line)
