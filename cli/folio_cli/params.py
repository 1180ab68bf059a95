"""The command-line parameters the job commands share: the job's options (grouped in
``--help`` as the API groups them), the book, and the outputs to download."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

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
        help='Glossary file: JSON, e.g. {"Petersburg": "페테르부르크"}, or CSV/TSV with '
        "term, translation and optional kind, note, gender, do_not_translate columns.",
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
Colophon = Annotated[
    bool,
    typer.Option(
        "--colophon",
        help="Record the model and date in the outputs' metadata (a translation note).",
        rich_help_panel=JOB,
    ),
]
Vertical = Annotated[
    bool,
    typer.Option(
        "--vertical-writing",
        help="Vertical writing in the EPUB, for Chinese, Japanese or Korean targets.",
        rich_help_panel=JOB,
    ),
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


# Commands that act on a job already made (resume, retranslate) and may follow it.
Follow = Annotated[
    bool, typer.Option("--follow", help="Follow the job to its end and download outputs.")
]
FollowOutput = Annotated[
    str, typer.Option("--output", "-o", help="With --follow: outputs to download.")
]
FollowDir = Annotated[Path, typer.Option(file_okay=False, help="With --follow: folder.")]

# Every job option once, in ``--help`` order: (name, declaration, default, run-only). The
# run-only ones shape a real run; an estimate (a probe capped at one token) has none.
_JOB_OPTIONS: tuple[tuple[str, Any, Any, bool], ...] = (
    ("target_language", Target, None, False),
    ("source_language", Source, None, False),
    ("segment_size", SegmentSize, None, False),
    ("turbo", Turbo, False, False),
    ("strict", Strict, False, False),
    ("style_file", Style, None, False),
    ("glossary_file", Glossary, None, False),
    ("glossary_mode", Mode, None, False),
    ("max_tokens", MaxTokens, None, True),
    ("bilingual", Bilingual, False, False),
    ("colophon", Colophon, False, True),
    ("vertical_writing", Vertical, False, True),
    ("validate", Validate, False, True),
    ("quick_validation", QuickValidation, False, True),
    ("validation_sample_rate", SampleRate, None, True),
    ("post_edit", PostEdit, False, True),
    ("provider", ProviderOpt, None, False),
    ("key_env", KeyEnv, API_KEY_ENV, False),
    ("ask_key", AskKey, False, False),
    ("model", Model, None, False),
    ("analysis_model", AnalysisModel, None, False),
    ("base_url", BaseUrl, None, False),
    ("requests_per_minute", Rpm, None, False),
    ("thinking_level", Thinking, None, False),
    ("provider_config_file", ProviderConfig, None, False),
)

Command = TypeVar("Command", bound=Callable[..., Any])


def job_options(*, run: bool) -> Callable[[Command], Command]:
    """Give a command the job options after its ``book`` argument and call it with them
    gathered as ``request`` (a ``JobRequest``); ``run`` adds the run-only options."""

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != "request"]
        at = [p.name for p in own].index("book") + 1
        options = [
            inspect.Parameter(
                name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=kind
            )
            for name, kind, default, run_only in _JOB_OPTIONS
            if run or not run_only
        ]
        names = {p.name for p in options}

        @functools.wraps(command)
        def with_request(**arguments: Any) -> Any:
            job = {name: arguments.pop(name) for name in names}
            return command(request=job_request(job), **arguments)

        parameters = own[:at] + options + own[at:]
        with_request.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        with_request.__annotations__ = {p.name: p.annotation for p in parameters}
        return with_request  # type: ignore[return-value]

    return decorate


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
