"""``folio translate`` (submit, follow, download) and ``folio estimate``."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from folio_cli.app import app, gateway_of
from folio_cli.display import JobProgress, estimate_text, summary_line
from folio_cli.errors import CliError, ExitCode
from folio_cli.follow import follow
from folio_cli.gateway import Gateway
from folio_cli.options import (
    API_KEY_ENV,
    GlossaryMode,
    JobRequest,
    Provider,
    ThinkingLevel,
)

OUTPUT_FORMATS = ("txt", "epub", "bilingual_txt", "bilingual_epub", "segments", "glossary", "pdf")

JOB = "Job options"
PROVIDER = "Your own provider (without a key, the deployment's model is used)"

Book = Annotated[
    Path,
    typer.Argument(
        exists=True,
        dir_okay=False,
        readable=True,
        help="The book: .txt, .md, .docx, .epub or .pdf.",
    ),
]
Target = Annotated[
    str | None,
    typer.Option(
        "--to",
        "-t",
        help="Target language, a code or English name (default: the server's).",
        rich_help_panel=JOB,
    ),
]
Source = Annotated[
    str | None,
    typer.Option("--from", "-f", help="Source language (default: detected).", rich_help_panel=JOB),
]
SegmentSize = Annotated[
    int | None,
    typer.Option(
        help="Characters per stored segment, 1000-50000 (default 15000).", rich_help_panel=JOB
    ),
]
Turbo = Annotated[
    bool,
    typer.Option(
        "--turbo",
        help="No analysis pass: only your glossary guides the prompts.",
        rich_help_panel=JOB,
    ),
]
Strict = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Strict continuity: one segment at a time, each seeing the previous translation.",
        rich_help_panel=JOB,
    ),
]
Style = Annotated[
    Path | None,
    typer.Option(
        "--style",
        exists=True,
        dir_okay=False,
        help="JSON file of narrative style (protagonist_name, narration, tone_keywords, ...).",
        rich_help_panel=JOB,
    ),
]
Glossary = Annotated[
    Path | None,
    typer.Option(
        "--glossary",
        exists=True,
        dir_okay=False,
        help='JSON glossary file, e.g. {"Petersburg": "페테르부르크"}.',
        rich_help_panel=JOB,
    ),
]
Mode = Annotated[
    GlossaryMode | None,
    typer.Option(
        help="seed: the analysis adds terms, yours win; replace: only yours (default seed).",
        rich_help_panel=JOB,
    ),
]
MaxTokens = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Spending cap in tokens: the job pauses before exceeding it.",
        rich_help_panel=JOB,
    ),
]
Bilingual = Annotated[
    bool, typer.Option("--bilingual", help="Also build bilingual outputs.", rich_help_panel=JOB)
]
Validate = Annotated[
    bool,
    typer.Option("--validate", help="Ask for validation of the translation.", rich_help_panel=JOB),
]
QuickValidation = Annotated[
    bool, typer.Option("--quick-validation", help="Quick validation.", rich_help_panel=JOB)
]
SampleRate = Annotated[
    float | None,
    typer.Option(min=0.0, max=1.0, help="Share of segments validated (0-1).", rich_help_panel=JOB),
]
PostEdit = Annotated[
    bool, typer.Option("--post-edit", help="Ask for a post-edit pass.", rich_help_panel=JOB)
]
ProviderOpt = Annotated[
    Provider | None, typer.Option("--provider", help="Your provider.", rich_help_panel=PROVIDER)
]
KeyEnv = Annotated[
    str,
    typer.Option(
        help="Environment variable holding your key (backup keys: FOLIO_BACKUP_API_KEYS, "
        "comma or newline separated).",
        rich_help_panel=PROVIDER,
    ),
]
AskKey = Annotated[
    bool,
    typer.Option(
        "--ask-key", help="Ask for the key (typed without echo).", rich_help_panel=PROVIDER
    ),
]
Model = Annotated[str | None, typer.Option("--model", help="Model name.", rich_help_panel=PROVIDER)]
AnalysisModel = Annotated[
    str | None,
    typer.Option(help="Model for the analysis pass (default: --model).", rich_help_panel=PROVIDER),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="An OpenAI-compatible server's address (https).",
        rich_help_panel=PROVIDER,
    ),
]
Rpm = Annotated[
    int | None,
    typer.Option("--rpm", min=1, help="Your key's requests per minute.", rich_help_panel=PROVIDER),
]
Thinking = Annotated[
    ThinkingLevel | None,
    typer.Option(help="Gemini 3 thinking level.", rich_help_panel=PROVIDER),
]
ProviderConfig = Annotated[
    Path | None,
    typer.Option(
        "--provider-config",
        exists=True,
        dir_okay=False,
        help="JSON file: the Vertex service account (and project_id, location).",
        rich_help_panel=PROVIDER,
    ),
]


def job_request(arguments: dict[str, Any]) -> JobRequest:
    """The job options among a command's arguments, with the keys from where they live."""
    fields = {k: v for k, v in arguments.items() if k in JobRequest.__dataclass_fields__}
    return JobRequest(**fields).with_keys(
        key_env=arguments["key_env"], ask_key=arguments["ask_key"]
    )


def parse_outputs(value: str) -> list[str | None]:
    """``--output txt,epub``; ``default`` is the server's choice (EPUB for EPUB books,
    else TXT); ``none`` downloads nothing."""
    chosen: list[str | None] = []
    for item in (p.strip().lower() for p in value.split(",")):
        if not item or item == "none":
            continue
        if item == "default":
            chosen.append(None)
        elif item in OUTPUT_FORMATS:
            chosen.append(item)
        else:
            raise typer.BadParameter(
                f"unknown format {item!r}; choose from default, none, {', '.join(OUTPUT_FORMATS)}",
                param_hint="--output",
            )
    return list(dict.fromkeys(chosen))


@app.command()
def translate(
    ctx: typer.Context,
    book: Book,
    target_language: Target = None,
    source_language: Source = None,
    segment_size: SegmentSize = None,
    turbo: Turbo = False,
    strict: Strict = False,
    style_file: Style = None,
    glossary_file: Glossary = None,
    glossary_mode: Mode = None,
    max_tokens: MaxTokens = None,
    bilingual: Bilingual = False,
    validate: Validate = False,
    quick_validation: QuickValidation = False,
    validation_sample_rate: SampleRate = None,
    post_edit: PostEdit = False,
    provider: ProviderOpt = None,
    key_env: KeyEnv = API_KEY_ENV,
    ask_key: AskKey = False,
    model: Model = None,
    analysis_model: AnalysisModel = None,
    base_url: BaseUrl = None,
    requests_per_minute: Rpm = None,
    thinking_level: Thinking = None,
    provider_config_file: ProviderConfig = None,
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
    request = job_request(locals())
    formats = parse_outputs(output)
    console = Console(stderr=False, soft_wrap=True, highlight=False)
    gateway = gateway_of(ctx)
    try:
        job = gateway.submit(book, request.form(), idempotency_key or str(uuid.uuid4()))
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


@app.command()
def estimate(
    ctx: typer.Context,
    book: Book,
    target_language: Target = None,
    source_language: Source = None,
    segment_size: SegmentSize = None,
    turbo: Turbo = False,
    strict: Strict = False,
    style_file: Style = None,
    glossary_file: Glossary = None,
    glossary_mode: Mode = None,
    bilingual: Bilingual = False,
    provider: ProviderOpt = None,
    key_env: KeyEnv = API_KEY_ENV,
    ask_key: AskKey = False,
    model: Model = None,
    analysis_model: AnalysisModel = None,
    base_url: BaseUrl = None,
    requests_per_minute: Rpm = None,
    thinking_level: Thinking = None,
    provider_config_file: ProviderConfig = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
) -> None:
    """Estimate a book's model calls and tokens, without spending any.

    The server estimates a book when it plans it, so this uploads the book as a job capped
    at one token: the job stops before its first model call with its estimate stored, and
    is then deleted. Without --turbo a second, turbo-mode probe gives the translation's
    estimate (its prompts carry no analysis notes, so the real translation needs a little
    more); the analysis estimate comes from the first. A key you give is still checked
    with the provider's cheap live call."""
    request = job_request(locals())
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
    }


def _probe(gateway: Gateway, book: Path, request: JobRequest) -> dict[str, Any]:
    fields = replace(request, max_tokens=1).form()
    job = gateway.submit(book, fields, str(uuid.uuid4()))
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
