"""Arguments: every job option reaches the upload form under the API's field name, keys
come from the environment or a hidden prompt and are never printed, bad arguments fail
before anything is sent."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import typer.main

from folio_cli.errors import ExitCode
from folio_cli.options import GlossaryMode, JobRequest, Provider, ThinkingLevel

from .conftest import answer_json, problem

# The API's fields the CLI covers another way: one --model sets the translation model.
COVERED_ELSEWHERE = {"translation_model_name", "glossary_model_name"}


def api_form_fields() -> set[str]:
    """The form fields ``POST /api/v1/jobs`` accepts, read from its endpoint."""
    from folio_translation.api.jobs import create_job

    skip = {"jobs", "settings", "identity", "file", "idempotency_key"}
    return {name for name in inspect.signature(create_job).parameters if name not in skip}


def everything(tmp_path: Path) -> JobRequest:
    style = tmp_path / "style.json"
    style.write_text('{"protagonist_name": "I"}')
    config = tmp_path / "vertex.json"
    config.write_text('{"project_id": "p"}')
    return JobRequest(
        target_language="ja",
        source_language="en",
        segment_size=4000,
        turbo=True,
        style_file=style,
        glossary_file=style,
        glossary_mode=GlossaryMode.replace,
        max_tokens=5000,
        bilingual=True,
        colophon=True,
        vertical_writing=True,
        provider=Provider.openai,
        model="m",
        analysis_model="a",
        base_url="https://llm.example",
        requests_per_minute=30,
        thinking_level=ThinkingLevel.low,
        provider_config_file=config,
        validate=True,
        quick_validation=True,
        validation_sample_rate=0.5,
        post_edit=True,
        api_key="k",
        backup_api_keys="b1,b2",
    )


def test_every_option_is_a_field_the_api_accepts_and_every_field_has_an_option(tmp_path):
    form = everything(tmp_path).form()
    accepted = api_form_fields()
    assert set(form) <= accepted, set(form) - accepted
    # strict_continuity cannot be set together with turbo_mode: checked on its own.
    strict = JobRequest(strict=True).form()
    # A CSV or TSV glossary is a file part of its own instead of glossary_data.
    table = tmp_path / "glossary.csv"
    table.write_text("term,translation\nGregor,그레고르\n")
    tabular = JobRequest(glossary_file=table)
    assert "glossary_data" not in tabular.form()
    files = tabular.files()
    assert files["glossary_file"][0] == "glossary.csv" and b"Gregor" in files["glossary_file"][1]
    assert set(form) | set(strict) | set(files) | COVERED_ELSEWHERE == accepted
    assert strict == {"strict_continuity": "true"}
    assert form["style_data"] == '{"protagonist_name": "I"}'
    assert form["turbo_mode"] == form["bilingual"] == "true"
    assert form["max_tokens"] == "5000" and form["segment_size"] == "4000"


def test_options_not_given_are_not_sent():
    assert JobRequest().form() == {}


def test_translate_sends_the_options_and_the_key_from_the_environment(folio, server, tmp_path):
    book = tmp_path / "book.txt"
    book.write_text("Once upon a time.")
    server.on("POST", "/jobs", answer_json({"id": 7, "status": "PENDING"}))
    result = folio(
        "translate", str(book), "--to", "Korean", "--max-tokens", "900", "--strict",
        "--provider", "openrouter", "--rpm", "12", "--detach",
        env={"FOLIO_API_KEY": "sk-secret-123", "FOLIO_BACKUP_API_KEYS": "sk-b1,sk-b2"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "job 7 submitted: book.txt\n"
    (upload,) = server.requests_to("POST", "/jobs")
    body = upload.body.decode()
    for name, value in [
        ("target_language", "Korean"),
        ("max_tokens", "900"),
        ("strict_continuity", "true"),
        ("api_provider", "openrouter"),
        ("requests_per_minute", "12"),
        ("api_key", "sk-secret-123"),
        ("backup_api_keys", "sk-b1,sk-b2"),
    ]:
        assert f'name="{name}"\r\n\r\n{value}\r\n' in body, name
    assert 'filename="book.txt"' in body and "Once upon a time." in body
    assert upload.headers["Authorization"] == "Bearer tok"
    assert len(upload.headers["Idempotency-Key"]) >= 32


def test_a_key_asked_for_is_sent_and_never_echoed(folio, server, tmp_path):
    book = tmp_path / "book.txt"
    book.write_text("text")
    server.on("POST", "/jobs", problem(422, "Invalid API key. Please check your credentials."))
    result = folio("translate", str(book), "--ask-key", input="sk-typed-456\n")
    assert result.exit_code == ExitCode.REJECTED
    assert "sk-typed-456" not in result.output
    assert result.stderr == (
        "folio: error: Invalid API key. Please check your credentials. (HTTP 422)\n"
    )
    (upload,) = server.requests_to("POST", "/jobs")
    assert 'name="api_key"\r\n\r\nsk-typed-456\r\n' in upload.body.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--turbo", "--strict"], "--turbo and --strict cannot be combined"),
        (["--output", "txt,docx"], "unknown format 'docx'"),
        (["--glossary", "{bad}"], "is not valid JSON"),
        (["--max-tokens", "0"], "--max-tokens"),
        (["--provider", "acme"], "--provider"),
    ],
)
def test_bad_arguments_exit_2_before_anything_is_sent(folio, server, tmp_path, args, message):
    book = tmp_path / "book.txt"
    book.write_text("text")
    bad = tmp_path / "{bad}"
    bad.write_text("{not json")
    args = [str(bad) if a == "{bad}" else a for a in args]
    result = folio("translate", str(book), *args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr
    assert result.stderr.startswith("folio: error: ") and result.stderr.count("\n") == 1
    assert server.seen == []


def test_a_missing_book_is_a_usage_error(folio, server, tmp_path):
    result = folio("translate", str(tmp_path / "nowhere.txt"))
    assert result.exit_code == ExitCode.USAGE and "does not exist" in result.stderr
    assert result.stderr.endswith("(see: folio translate --help)\n")
    assert result.stderr.count("\n") == 1
    unknown = folio("translat", "book.txt")
    assert unknown.exit_code == ExitCode.USAGE and unknown.stderr.count("\n") == 1
    option = folio("--bogus", "jobs")
    assert option.stderr == "folio: error: No such option: --bogus (see: folio --help)\n"
    assert option.exit_code == ExitCode.USAGE
    assert server.seen == []


def test_without_a_token_nothing_is_sent(folio, server):
    result = folio("jobs", token=None)
    assert result.exit_code == ExitCode.AUTH
    assert result.stderr.count("\n") == 1 and "FOLIO_TOKEN" in result.stderr
    assert server.seen == []


def test_the_token_may_be_given_as_a_flag_and_as_dev_token_prints_it(folio, server):
    server.on("GET", "/jobs", answer_json([]))
    result = folio("--token", "Bearer abc\n", "jobs", token=None)
    assert result.exit_code == 0 and result.stdout == "no jobs\n"
    assert server.seen[0].headers["Authorization"] == "Bearer abc"


def test_help_documents_every_command_and_option(folio):
    from folio_cli.main import app

    top = folio("--help")
    assert top.exit_code == 0
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        assert name in top.stdout and command.help, name
        page = folio(name, "--help")
        assert page.exit_code == 0
        for param in command.params:
            assert param.help or getattr(param, "param_type_name", "") == "argument", (name, param)
            if param.param_type_name == "option":
                assert param.opts[0] in page.stdout, (name, param.opts)
