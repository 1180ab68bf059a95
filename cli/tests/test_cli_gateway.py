"""Talking to the gateway: one-line errors with their exit codes, retried submits that make
one job, a dropped event stream resumed where it stopped, downloads kept in their folder."""

from __future__ import annotations

import socket

import pytest

from folio_cli.errors import ExitCode

from .conftest import Answer, answer_json, event_stream, problem, sse

JOB = {"id": 42, "status": "PENDING", "phase": "planning", "progress": 0,
       "translated_segments": 0, "total_segments": None, "usage": {}}  # fmt: skip


def job(**changes):
    return {**JOB, **changes}


@pytest.mark.parametrize(
    ("answer", "code", "line"),
    [
        (problem(401, "Missing or invalid bearer token."), ExitCode.AUTH,
         "Missing or invalid bearer token. (HTTP 401)"),
        (problem(404, "Job not found"), ExitCode.NOT_FOUND, "Job not found (HTTP 404)"),
        (problem(409, "Job is COMPLETED: it cannot be cancelled."), ExitCode.REJECTED,
         "Job is COMPLETED: it cannot be cancelled. (HTTP 409)"),
        (problem(500, "Internal error"), ExitCode.SERVER, "Internal error (HTTP 500)"),
        (Answer(502, b"<html>bad gateway</html>", {"content-type": "text/html"}),
         ExitCode.SERVER, "Bad Gateway (HTTP 502)"),
    ],
)  # fmt: skip
def test_a_refusal_is_one_line_with_its_exit_code(folio, server, answer, code, line):
    server.on("POST", "/jobs/42/cancel", answer)
    result = folio("cancel", "42")
    assert result.exit_code == code
    assert result.stderr == f"folio: error: {line}\n"
    assert result.stdout == ""


def test_an_unreachable_gateway_is_exit_7(folio):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here once closed
    result = folio("jobs", env={"FOLIO_URL": f"http://127.0.0.1:{port}"})
    assert result.exit_code == ExitCode.UNREACHABLE
    assert result.stderr.startswith(
        f"folio: error: cannot reach the gateway at http://127.0.0.1:{port}"
    )
    assert result.stderr.count("\n") == 1


def test_a_submit_the_gateway_could_not_answer_is_retried_with_the_same_key(
    folio, server, tmp_path, monkeypatch
):
    waits = []
    monkeypatch.setattr("folio_cli.gateway.time.sleep", waits.append)
    book = tmp_path / "b.txt"
    book.write_text("text")
    server.on(
        "POST", "/jobs",
        problem(503, "translation-service is unavailable"),
        problem(504, "translation-service did not answer in time"),
        answer_json(job()),
    )  # fmt: skip
    result = folio("translate", str(book), "--detach")
    assert result.exit_code == 0, result.output
    attempts = server.requests_to("POST", "/jobs")
    assert len(attempts) == 3 and waits == [2.0, 4.0]  # backing off
    assert len({a.headers["Idempotency-Key"] for a in attempts}) == 1
    assert all(b"text" in a.body for a in attempts)  # the whole book every time


def test_a_rate_limited_submit_waits_as_asked_then_succeeds(folio, server, tmp_path, monkeypatch):
    waits = []
    monkeypatch.setattr("folio_cli.gateway.time.sleep", waits.append)
    book = tmp_path / "b.txt"
    book.write_text("text")
    limited = problem(429, "Too many requests")
    limited.headers["retry-after"] = "3"
    server.on("POST", "/jobs", limited, answer_json(job()))
    result = folio("translate", str(book), "--detach")
    assert result.exit_code == 0, result.output
    assert waits == [3.0]
    assert len(server.requests_to("POST", "/jobs")) == 2


def test_a_given_idempotency_key_is_sent(folio, server, tmp_path):
    book = tmp_path / "b.txt"
    book.write_text("text")
    server.on("POST", "/jobs", answer_json(job()))
    assert folio("translate", str(book), "--detach", "--idempotency-key", "k-1").exit_code == 0
    assert server.requests_to("POST", "/jobs")[0].headers["Idempotency-Key"] == "k-1"


def test_a_dropped_stream_is_resumed_after_the_last_event_seen(folio, server, tmp_path):
    book = tmp_path / "b.txt"
    book.write_text("text")
    server.on("POST", "/jobs", answer_json(job()))
    translating = {"status": "PROCESSING", "phase": "translating", "progress": 0}
    done = job(status="COMPLETED", phase="done", progress=100, translated_segments=2,
               total_segments=2, usage={"calls": 3, "input_tokens": 900, "output_tokens": 400},
               estimate={"total_tokens": 1500})  # fmt: skip
    server.on(
        "GET", "/jobs/42/events",
        Answer(body=event_stream(
            sse("status", 1, {"status": "PENDING", "phase": "planning", "progress": 0}),
            sse("status", 2, translating),
            sse("segment", 3, {"segment_index": 0, "translated_segments": 1,
                               "total_segments": 2, "progress": 50}),
        )),
        Answer(body=event_stream(
            sse("segment", 4, {"segment_index": 1, "translated_segments": 2,
                               "total_segments": 2, "progress": 99}),
            sse("status", 5, {"status": "COMPLETED", "phase": "done", "progress": 100}),
            sse("job", 5, done),
        )),
    )  # fmt: skip
    offered = {"content-disposition": 'attachment; filename="b_translated.txt"'}
    server.on("GET", "/download/42", Answer(body=b"translated", headers=offered))
    result = folio("translate", str(book), "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    streams = server.requests_to("GET", "/jobs/42/events")
    assert [s.headers.get("Last-Event-ID") for s in streams] == ["0", "3"]
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("job 42: ")] == [
        "job 42: planning",
        "job 42: translating",
        "job 42: event stream dropped, reconnecting after event 3",
        "job 42: completed",
    ]
    assert (
        "job 42 completed: 100% · 2/2 segments · 1,300 tokens (estimate 1,500) · 3 model calls"
        in lines
    )
    assert (tmp_path / "out" / "b_translated.txt").read_bytes() == b"translated"


def test_a_paused_job_ends_following_with_exit_8_and_the_way_on(folio, server, tmp_path):
    book = tmp_path / "b.txt"
    book.write_text("text")
    server.on("POST", "/jobs", answer_json(job()))
    paused = job(status="PAUSED", phase="translating", status_detail="Paused: the cap.")
    server.on("GET", "/jobs/42/events", Answer(body=event_stream(sse("job", 9, paused))))
    result = folio("translate", str(book))
    assert result.exit_code == ExitCode.PAUSED
    assert result.stderr == (
        "folio: error: job 42 paused: Paused: the cap. "
        "(continue with: folio resume 42 --max-tokens N)\n"
    )
    assert server.requests_to("GET", "/download") == []


def test_a_failed_job_is_exit_1_with_its_reason(folio, server, tmp_path):
    book = tmp_path / "b.txt"
    book.write_text("text")
    server.on("POST", "/jobs", answer_json(job()))
    failed = job(status="FAILED", error_message="The book contains no text.")
    server.on("GET", "/jobs/42/events", Answer(body=event_stream(sse("job", 2, failed))))
    result = folio("translate", str(book))
    assert result.exit_code == ExitCode.JOB_UNFINISHED
    assert result.stderr == "folio: error: job 42 failed: The book contains no text.\n"


def test_a_download_stays_in_its_folder_whatever_name_it_offers(folio, server, tmp_path):
    server.on("GET", "/download/42", Answer(body=b"book", headers={
        "content-type": "text/plain",
        "content-disposition": "attachment; filename=\"evil.txt\"; "
                               "filename*=UTF-8''..%2F..%2F%EC%B1%85.txt",
    }))  # fmt: skip
    out = tmp_path / "a" / "b"
    result = folio("download", "42", "--format", "txt", "--out-dir", str(out))
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["책.txt"]  # the UTF-8 name, without its path
    assert (out / "책.txt").read_bytes() == b"book"
    assert server.seen[0].path == "/api/v1/download/42?format=txt"


def test_a_refused_download_leaves_no_file(folio, server, tmp_path):
    server.on("GET", "/jobs/42/pdf", problem(409, "Job has no translated text yet."))
    result = folio("download", "42", "--format", "pdf", "--out-dir", str(tmp_path))
    assert result.exit_code == ExitCode.REJECTED
    assert result.stderr == "folio: error: Job has no translated text yet. (HTTP 409)\n"
    assert list(tmp_path.iterdir()) == []


def test_resume_sends_the_new_cap(folio, server):
    server.on("POST", "/jobs/42/resume", answer_json(job(status="PROCESSING")))
    result = folio("resume", "42", "--max-tokens", "4000000")
    assert result.exit_code == 0 and result.stdout == "job 42: processing\n"
    assert server.seen[0].body == b'{"max_tokens":4000000}'


def test_jobs_pages_through_skip_and_limit(folio, server):
    row = job(filename="a.txt", target_language="ko", created_at="2026-12-01T10:00:00Z")
    server.on("GET", "/jobs", answer_json([row, {**row, "id": 41}]))
    result = folio("jobs", "--page", "3", "--per-page", "2")
    assert result.exit_code == 0
    assert server.seen[0].path == "/api/v1/jobs?skip=4&limit=2"
    assert "42" in result.stdout and "a.txt" in result.stdout
    assert "more: folio jobs --page 4" in result.stdout
