"""Passages left untranslated: every command that shows a job says how many and how to fix
them, and ``folio retranslate`` re-runs chosen segments (one selector, checked before
anything is sent)."""

from __future__ import annotations

import json

import pytest

from folio_cli.errors import ExitCode

from .conftest import Answer, answer_json, event_stream, problem, sse

DONE = {"id": 42, "status": "COMPLETED", "phase": "done", "progress": 100,
        "translated_segments": 9, "total_segments": 9, "usage": {"calls": 12},
        "filename": "b.txt", "target_language": "ko", "created_at": "2026-12-01T10:00:00Z",
        "outputs": ["txt"]}  # fmt: skip
MARKED = {**DONE, "failed_segments": [3, 7], "failed_units": 3}
HINT = "3 passages left untranslated — `folio retranslate 42 --failed`"


def accepted(*indices: int) -> Answer:
    return answer_json({"job_id": 42, "status": "PROCESSING", "segment_indices": list(indices)})


@pytest.mark.parametrize(
    ("args", "body"),
    [
        (["--failed"], {"filter": "failed"}),
        (["--segments", "7, 1,3-5,3"], {"segment_indices": [1, 3, 4, 5, 7]}),
        (["--check", "safety"], {"check": "safety"}),
        (["--chapters", "2-4"], {"chapters": {"first": 2, "last": 4}}),
        (["--chapters", "3"], {"chapters": {"first": 3, "last": 3}}),
    ],
)
def test_retranslate_sends_the_one_selection_given(folio, server, args, body):
    server.on("POST", "/jobs/42/segments/retranslate", accepted(3, 7))
    result = folio("retranslate", "42", *args)
    assert result.exit_code == 0, result.output
    assert result.stdout == "job 42: processing, translating 2 segments again (3, 7)\n"
    (sent,) = server.requests_to("POST", "/jobs/42/segments/retranslate")
    assert json.loads(sent.body) == body  # no provider fields without a key


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one of --failed, --segments, --check, --chapters"),
        (["--failed", "--check", "safety"], "(given: --failed, --check)"),
        (["--segments", "1,x"], "--segments: 'x' is not an index or a range"),
        (["--segments", "1,,2"], "--segments: '(empty)'"),
        (["--segments", "9-2"], "--segments: '9-2' is not a range"),
        (["--segments", "-1"], "--segments: '-1'"),
        (["--chapters", "4-1"], "--chapters: '4-1' ends before it starts"),
        (["--chapters", "one"], "--chapters: 'one' is not a chapter range"),
        (["--check", " "], "--check: name a check"),
        (["--failed", "--key-env", "NOT_SET_ANYWHERE"], "--key-env: NOT_SET_ANYWHERE is not set"),
        (["--failed", "--output", "docx"], "unknown format 'docx'"),
    ],
)
def test_bad_selections_exit_2_before_anything_is_sent(folio, server, args, message):
    result = folio("retranslate", "42", *args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr
    assert result.stderr.startswith("folio: error: ") and result.stderr.count("\n") == 1
    assert server.seen == []


def test_a_refused_retranslation_is_one_line_with_exit_5(folio, server):
    server.on(
        "POST",
        "/jobs/42/segments/retranslate",
        problem(422, "No segment of this job matches the selection."),
    )
    result = folio("retranslate", "42", "--check", "truncated")
    assert result.exit_code == ExitCode.REJECTED
    assert result.stderr == (
        "folio: error: No segment of this job matches the selection. (HTTP 422)\n"
    )


def test_the_key_for_an_own_provider_job_is_sent_and_never_printed(folio, server):
    server.on("POST", "/jobs/42/segments/retranslate", accepted(3))
    result = folio(
        "retranslate", "42", "--failed", "--provider", "openai", "--model", "gpt-4o-mini",
        env={"FOLIO_API_KEY": "sk-own-123", "FOLIO_BACKUP_API_KEYS": "sk-b1, sk-b2"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sk-" not in result.output
    (sent,) = server.requests_to("POST", "/jobs/42/segments/retranslate")
    assert json.loads(sent.body) == {
        "filter": "failed",
        "api_key": "sk-own-123",
        "backup_api_keys": ["sk-b1", "sk-b2"],
        "api_provider": "openai",
        "model_name": "gpt-4o-mini",
    }


def test_following_a_retranslation_downloads_and_says_what_is_still_marked(folio, server, tmp_path):
    server.on("POST", "/jobs/42/segments/retranslate", accepted(3, 7))
    still = {**DONE, "failed_segments": [7], "failed_units": 1}
    server.on("GET", "/jobs/42/events", Answer(body=event_stream(
        sse("segment", 30, {"segment_index": 3, "translated_segments": 8, "total_segments": 9,
                            "progress": 88, "failed_units": 0}),
        sse("segment", 31, {"segment_index": 7, "translated_segments": 9, "total_segments": 9,
                            "progress": 99, "failed_units": 1}),
        sse("job", 33, still),
    )))  # fmt: skip
    server.on("GET", "/download/42", Answer(body=b"book", headers={"content-type": "text/plain"}))
    result = folio("retranslate", "42", "--failed", "--follow", "--out-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Last-Event-ID" not in server.requests_to("GET", "/jobs/42/events")[0].headers
    lines = result.stdout.splitlines()
    assert lines[-1] == "1 passage left untranslated — `folio retranslate 42 --failed`"
    assert any(line.startswith("saved ") for line in lines)


def test_translate_show_and_jobs_say_how_many_passages_are_left(folio, server, tmp_path):
    book = tmp_path / "b.txt"
    book.write_text("text")
    server.on("POST", "/jobs", answer_json({**DONE, "status": "PENDING", "phase": "planning"}))
    server.on("GET", "/jobs/42/events", Answer(body=event_stream(sse("job", 40, MARKED))))
    server.on("GET", "/download/42", Answer(body=b"book", headers={"content-type": "text/plain"}))
    translated = folio("translate", str(book), "--out-dir", str(tmp_path / "out"))
    assert translated.exit_code == 0, translated.output
    assert translated.stdout.splitlines()[-1] == HINT

    server.on("GET", "/jobs/42", answer_json(MARKED))
    shown = folio("show", "42")
    assert shown.exit_code == 0
    assert "untranslated 3 passages in segments 3, 7" in shown.stdout
    assert shown.stdout.splitlines()[-1] == HINT
    server.on("GET", "/jobs", answer_json([MARKED, {**DONE, "id": 41}]))
    listed = folio("jobs")
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[2:]}
    assert "completed, 3 untranslated" in rows["42"]
    assert "untranslated" not in rows["41"]

    # Nothing marked: no hint anywhere.
    server.on("GET", "/jobs/42", answer_json({**DONE, "failed_segments": [], "failed_units": 0}))
    clean = folio("show", "42")
    assert "untranslated" not in clean.stdout and "retranslate" not in clean.stdout
