"""``folio retranslate``: translate chosen segments of a completed job again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from folio_cli.app import app, gateway_of
from folio_cli.errors import CliError, ExitCode
from folio_cli.options import API_KEY_ENV, JobRequest
from folio_cli.params import (
    AskKey,
    BaseUrl,
    Follow,
    FollowDir,
    FollowOutput,
    KeyEnv,
    Model,
    ProviderOpt,
    parse_outputs,
)
from folio_cli.translate import finish, watch

CHOICE = "Which segments (exactly one)"
MAX_INDEX = 10_000_000
RANGE = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


def parse_segments(value: str) -> list[int]:
    """``1,2,5-7`` → [1, 2, 5, 6, 7] (segment indices, from 0)."""
    indices: list[int] = []
    for part in value.split(","):
        match = RANGE.fullmatch(part)
        if match is None:
            raise CliError(
                f"--segments: {part.strip() or '(empty)'!r} is not an index or a range "
                "(e.g. 3,7,10-12)",
                ExitCode.USAGE,
            )
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if last < first or last > MAX_INDEX or last - first > 100_000:
            raise CliError(f"--segments: {part.strip()!r} is not a range", ExitCode.USAGE)
        indices.extend(range(first, last + 1))
    return sorted(set(indices))


def parse_chapters(value: str) -> dict[str, int]:
    """``A-B`` (or one chapter ``A``) → ``{"first": A, "last": B}`` (chapter indices)."""
    match = RANGE.fullmatch(value)
    if match is None:
        raise CliError(
            f"--chapters: {value!r} is not a chapter range (e.g. 2-4, or 3)", ExitCode.USAGE
        )
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first or last > MAX_INDEX:
        raise CliError(
            f"--chapters: {value!r} ends before it starts or is out of range", ExitCode.USAGE
        )
    return {"first": first, "last": last}


def selection(
    failed: bool, segments: str | None, check: str | None, chapters: str | None
) -> dict[str, Any]:
    chosen = [
        name
        for name, given in (
            ("--failed", failed),
            ("--segments", segments is not None),
            ("--check", check is not None),
            ("--chapters", chapters is not None),
        )
        if given
    ]
    if len(chosen) != 1:
        raise CliError(
            "choose the segments with exactly one of --failed, --segments, --check, --chapters"
            + (f" (given: {', '.join(chosen)})" if chosen else ""),
            ExitCode.USAGE,
        )
    if failed:
        return {"filter": "failed"}
    if segments is not None:
        return {"segment_indices": parse_segments(segments)}
    if check is not None:
        if not check.strip():
            raise CliError("--check: name a check (e.g. untranslated, safety)", ExitCode.USAGE)
        return {"check": check.strip()}
    assert chapters is not None
    return {"chapters": parse_chapters(chapters)}


@app.command()
def retranslate(
    ctx: typer.Context,
    job_id: Annotated[int, typer.Argument(min=1, help="The job's id (see `folio jobs`).")],
    failed: Annotated[
        bool,
        typer.Option(
            "--failed",
            help="The segments with passages left untranslated (marked).",
            rich_help_panel=CHOICE,
        ),
    ] = False,
    segments: Annotated[
        str | None,
        typer.Option(
            "--segments",
            help="Segment indices, from 0: 3,7,10-12.",
            rich_help_panel=CHOICE,
            show_default=False,
        ),
    ] = None,
    check: Annotated[
        str | None,
        typer.Option(
            "--check",
            help="The segments with a passage marked by this check: empty, untranslated, "
            "length, paragraphs, truncated, safety, bad_request.",
            rich_help_panel=CHOICE,
            show_default=False,
        ),
    ] = None,
    chapters: Annotated[
        str | None,
        typer.Option(
            "--chapters",
            help="A chapter range, inclusive, from 0: 2-4 (or one chapter: 3).",
            rich_help_panel=CHOICE,
            show_default=False,
        ),
    ] = None,
    provider: ProviderOpt = None,
    key_env: KeyEnv = API_KEY_ENV,
    ask_key: AskKey = False,
    model: Model = None,
    base_url: BaseUrl = None,
    follow: Follow = False,
    output: FollowOutput = "default",
    out_dir: FollowDir = Path("."),
) -> None:
    """Translate chosen segments of a completed job again, then rebuild its files.

    Segments not chosen cost nothing; a segment with marked passages pays only for those.
    A job on your own provider needs its key again (from FOLIO_API_KEY or --key-env, or
    --ask-key): its keys were erased when it completed."""
    body = selection(failed, segments, check, chapters)
    formats = parse_outputs(output)
    keys = JobRequest(provider=provider, model=model, base_url=base_url).with_keys(
        key_env=key_env, ask_key=ask_key
    )
    if keys.api_key or keys.backup_api_keys:
        body |= {
            "api_key": keys.api_key,
            "backup_api_keys": (
                [k.strip() for k in re.split(r"[,\n]", keys.backup_api_keys) if k.strip()]
                if keys.backup_api_keys
                else None
            ),
            "api_provider": provider.value if provider else None,
            "model_name": model,
            "api_base_url": base_url,
        }
        body = {name: value for name, value in body.items() if value is not None}
    elif key_env != API_KEY_ENV:
        raise CliError(f"--key-env: {key_env} is not set", ExitCode.USAGE)
    console = Console(soft_wrap=True, highlight=False)
    gateway = gateway_of(ctx)
    try:
        answer = gateway.retranslate(job_id, body)
        chosen = answer.get("segment_indices") or []
        console.print(
            f"job {answer['job_id']}: {answer['status'].lower()}, translating "
            f"{len(chosen)} segment{'s' if len(chosen) != 1 else ''} again "
            f"({_indices_text(chosen)})"
        )
        if follow:
            job = {"id": answer["job_id"], "status": answer["status"]}
            final = watch(gateway, console, job, after=None)  # from now: not its history
            finish(gateway, console, final, formats, out_dir)
    finally:
        gateway.close()


def _indices_text(indices: list[int], shown: int = 12) -> str:
    text = ", ".join(str(i) for i in indices[:shown])
    return f"{text}, …" if len(indices) > shown else text
