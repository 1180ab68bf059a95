"""The ``folio`` command-line client as a user runs it: a real process against the stack."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from folio_devstack.faults import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "dream-of-a-ridiculous-man.txt"
FOLIO = Path(sys.executable).parent / "folio"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def run_folio(
    *args: str, url: str, token: str | None, cwd: Path, timeout: float = 300, **extra_env: str
):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    env.update(FOLIO_URL=url, COLUMNS="200", **extra_env)  # wide: table cells never wrap
    if token is not None:
        env["FOLIO_TOKEN"] = token
    return asyncio.to_thread(
        subprocess.run,
        [str(FOLIO), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
async def translated(stack, dev_token, tmp_path_factory):
    """The sample book translated by ``folio translate``, once for the module."""
    token = dev_token(f"cli-{uuid.uuid4().hex[:6]}")
    work = tmp_path_factory.mktemp("cli")
    (work / "glossary.json").write_text(json.dumps({"Petersburg": "페테르부르크"}))
    result = await run_folio(
        "translate",
        str(SAMPLE),
        "--to",
        "ko",
        "--segment-size",
        "5000",
        "--glossary",
        "glossary.json",
        "--output",
        "txt,segments",
        "--out-dir",
        "out",
        url=stack.config.url("gateway"),
        token=token,
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    job_id = int(re.search(r"job (\d+) submitted", result.stdout).group(1))
    return {"result": result, "job_id": job_id, "work": work, "token": token}


async def test_translate_shows_each_phase_and_downloads_the_book(translated, gateway):
    stdout, job_id = translated["result"].stdout, translated["job_id"]
    stages = re.findall(rf"^job {job_id}: (\w+)", stdout, re.M)
    # Every change of stage, in order (a reconnect would replay none twice).
    assert stages[0] == "planning" and stages[-1] == "completed"
    assert [s for s in stages if s != "assembling"] == ["planning", "translating", "completed"]
    final = re.search(
        rf"^job {job_id} completed: 100% · (\d+)/(\d+) segments · ([\d,]+) tokens", stdout, re.M
    )
    assert final, stdout
    assert final.group(1) == final.group(2) and int(final.group(1)) >= 5
    assert int(final.group(3).replace(",", "")) > 0

    headers = {"Authorization": f"Bearer {translated['token']}"}
    saved = translated["work"] / "out" / "dream-of-a-ridiculous-man_translated.txt"
    assert f"saved out/{saved.name}" in stdout
    served = await gateway.get(f"/api/v1/download/{job_id}?format=txt", headers=headers)
    assert saved.read_bytes() == served.content
    text = saved.read_text()
    source = SAMPLE.read_text()
    assert len(HANGUL.findall(text)) > len(text) // 4  # translated, not the source
    assert 0.2 < len(text) / len(source) < 1.5  # the whole book, at a translation's length

    segments = json.loads(
        (translated["work"] / "out" / "dream-of-a-ridiculous-man_segments.json").read_text()
    )
    assert [s["segment_index"] for s in segments] == list(range(int(final.group(1))))
    assert all(HANGUL.search(s["translated_text"]) for s in segments)
    covered = " ".join(" ".join(s["source_text"] for s in segments).split())
    assert all(" ".join(p.split()) in covered for p in source.split("\n\n"))  # every paragraph
    job = (await gateway.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert job["final_glossary"]["Petersburg"] == "페테르부르크"  # --glossary reached the job
    assert job["target_language"] == "ko" and job["segment_size"] == 5000


async def test_jobs_show_and_download_read_real_jobs(translated, stack, tmp_path):
    url, token, job_id = stack.config.url("gateway"), translated["token"], translated["job_id"]
    second = await run_folio(
        "translate", str(SAMPLE), "--turbo", "--detach", url=url, token=token, cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr
    newer = int(re.search(r"job (\d+) submitted", second.stdout).group(1))

    listed = await run_folio("jobs", "--json", url=url, token=token, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [j["id"] for j in json.loads(listed.stdout)] == [newer, job_id]  # newest first
    page_two = await run_folio(
        "jobs", "--per-page", "1", "--page", "2", url=url, token=token, cwd=tmp_path
    )
    assert page_two.returncode == 0 and str(job_id) in page_two.stdout
    assert str(newer) not in page_two.stdout and "dream-of-a-ridiculous-man.txt" in page_two.stdout
    table = await run_folio("jobs", url=url, token=token, cwd=tmp_path)
    assert "more:" not in table.stdout and table.stdout.index(str(newer)) < table.stdout.index(
        str(job_id)
    )

    shown = await run_folio("show", str(job_id), url=url, token=token, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "COMPLETED" in shown.stdout and "100%" in shown.stdout
    assert re.search(r"estimate\s+[\d,]+ tokens \(analysis \d+ calls", shown.stdout)

    fetched = await run_folio(
        "download",
        str(job_id),
        "--format",
        "txt,glossary",
        "--out-dir",
        "d",
        url=url,
        token=token,
        cwd=tmp_path,
    )
    assert fetched.returncode == 0, fetched.stderr
    book = tmp_path / "d" / "dream-of-a-ridiculous-man_translated.txt"
    assert (
        book.read_bytes()
        == (translated["work"] / "out" / "dream-of-a-ridiculous-man_translated.txt").read_bytes()
    )
    glossary = [p for p in (tmp_path / "d").iterdir() if p != book]
    assert len(glossary) == 1 and "페테르부르크" in glossary[0].read_text()


async def test_an_idempotency_key_makes_a_repeated_submit_one_job(stack, dev_token, tmp_path):
    url, token = stack.config.url("gateway"), dev_token(f"cli-idem-{uuid.uuid4().hex[:6]}")
    key = uuid.uuid4().hex
    ids = []
    for _ in range(2):
        result = await run_folio(
            "translate",
            str(SAMPLE),
            "--turbo",
            "--detach",
            "--idempotency-key",
            key,
            url=url,
            token=token,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        ids.append(re.search(r"job (\d+) submitted", result.stdout).group(1))
    assert ids[0] == ids[1]
    listed = await run_folio("jobs", "--json", url=url, token=token, cwd=tmp_path)
    assert [str(j["id"]) for j in json.loads(listed.stdout)] == ids[:1]


async def test_cancel_stops_a_job_that_translate_is_following(stack, dev_token, tmp_path):
    url, token = stack.config.url("gateway"), dev_token(f"cli-cancel-{uuid.uuid4().hex[:6]}")
    slow = tmp_path / "slow.txt"
    slow.write_text(
        "\n\n".join(
            f"Paragraph {i}. Gregor listened to the rain [[fake:slow=3]] at the window."
            for i in range(400)
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    env.update(FOLIO_URL=url, FOLIO_TOKEN=token)
    follower = await asyncio.create_subprocess_exec(
        str(FOLIO), "translate", str(slow), "--turbo", "--segment-size", "1000",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        job_id, lines = None, []
        while True:  # until the follower reports the translation under way
            line = (await asyncio.wait_for(follower.stdout.readline(), timeout=120)).decode()
            lines.append(line)
            assert line, lines  # the follower ended before translating
            if match := re.match(r"job (\d+) submitted", line):
                job_id = match.group(1)
            if job_id and line.startswith(f"job {job_id}: translating"):
                break

        cancelled = await run_folio("cancel", job_id, url=url, token=token, cwd=tmp_path)
        assert cancelled.returncode == 0, cancelled.stderr
        assert cancelled.stdout.strip() == f"job {job_id}: cancelled"
        out, err = await asyncio.wait_for(follower.communicate(), timeout=120)
        out, err = out.decode(), err.decode()
    finally:
        if follower.returncode is None:
            follower.kill()
            await follower.wait()
    assert follower.returncode == 1  # the job did not complete
    assert f"job {job_id}: cancelled" in out
    assert err.strip().splitlines() == [err.strip()]  # one line
    assert err.startswith(f"folio: error: job {job_id} cancelled")

    again = await run_folio("cancel", job_id, url=url, token=token, cwd=tmp_path)
    assert again.returncode == 5  # refused: already cancelled
    assert again.stderr.count("\n") == 1 and "(HTTP 409)" in again.stderr


async def test_a_bad_token_and_a_missing_job_fail_in_one_line(stack, dev_token, tmp_path):
    url = stack.config.url("gateway")
    refused = await run_folio("jobs", url=url, token="not-a-token", cwd=tmp_path)
    assert refused.returncode == 3
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("folio: error: ")
    assert "(HTTP 401)" in refused.stderr and "Traceback" not in refused.stderr

    missing = await run_folio(
        "show", "123456789012", url=url, token=dev_token("cli-x"), cwd=tmp_path
    )
    assert missing.returncode == 4
    assert missing.stderr.count("\n") == 1 and "(HTTP 404)" in missing.stderr

    no_token = await run_folio("jobs", url=url, token=None, cwd=tmp_path)
    assert no_token.returncode == 3 and "FOLIO_TOKEN" in no_token.stderr


async def test_translate_survives_a_cut_connection_and_resumes_the_stream(
    stack, dev_token, tmp_path
):
    """The client talks to the gateway through a proxy that drops every connection mid
    stream: the client reconnects with the last event's id and misses nothing."""
    host, port = stack.config.url("gateway").removeprefix("http://").split(":")
    proxy = TcpProxy(host, int(port))
    url = f"http://127.0.0.1:{await proxy.start()}"
    token = dev_token(f"cli-cut-{uuid.uuid4().hex[:6]}")
    slow = tmp_path / "slow.txt"
    slow.write_text(
        "\n\n".join(
            f"Paragraph {i}. Grete opened the window [[fake:slow=1]] and looked at the rain."
            for i in range(300)
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    env.update(FOLIO_URL=url, FOLIO_TOKEN=token)
    follower = await asyncio.create_subprocess_exec(
        str(FOLIO), "translate", str(slow), "--turbo", "--segment-size", "1000", "--output", "txt",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        lines = []
        while not any(": translating" in line for line in lines):
            line = (await asyncio.wait_for(follower.stdout.readline(), timeout=120)).decode()
            assert line, lines
            lines.append(line)
        await proxy.cut()  # every connection dropped, new ones refused for a moment
        await asyncio.sleep(1)
        await proxy.restore()
        out, err = await asyncio.wait_for(follower.communicate(), timeout=240)
    finally:
        if follower.returncode is None:
            follower.kill()
            await follower.wait()
        await proxy.close()
    stdout = "".join(lines) + out.decode()
    assert follower.returncode == 0, err.decode()
    job_id = re.search(r"job (\d+) submitted", stdout).group(1)
    assert re.search(
        rf"^job {job_id}: event stream dropped, reconnecting after event \d+$", stdout, re.M
    )
    stages = [s for s in re.findall(rf"^job {job_id}: (\w+)$", stdout, re.M)]
    assert [s for s in stages if s != "assembling"] == ["planning", "translating", "completed"]
    assert re.search(rf"^job {job_id} completed: 100% · (\d+)/\1 segments", stdout, re.M)
    assert HANGUL.search((tmp_path / "slow_translated.txt").read_text())


async def test_estimate_spends_nothing_and_leaves_no_job(translated, stack, dev_token, tmp_path):
    url, token = stack.config.url("gateway"), dev_token(f"cli-est-{uuid.uuid4().hex[:6]}")
    tag = f"estimatebook{uuid.uuid4().hex[:8]}"
    book = tmp_path / "book.txt"
    book.write_text(f"{tag}\n\n" + SAMPLE.read_text())
    result = await run_folio(
        "estimate", str(book), "--to", "ko", "--segment-size", "5000", "--json",
        url=url, token=token, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    estimate = json.loads(result.stdout)
    # The translated sample's own plan (same options) agrees with the estimate.
    headers = {"Authorization": f"Bearer {translated['token']}"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as client:
        real = (await client.get(f"/api/v1/jobs/{translated['job_id']}")).json()
    assert estimate["segments"] == real["total_segments"]
    assert estimate["translation"]["calls"] == real["estimate"]["translation"]["calls"]
    assert estimate["analysis"]["calls"] >= 1 and estimate["analysis"]["input_tokens"] > 0
    assert estimate["total_tokens"] == sum(
        estimate[p]["input_tokens"] + estimate[p]["output_tokens"]
        for p in ("analysis", "translation")
    )
    async with httpx.AsyncClient(base_url=stack.config.url("fake-llm")) as fake:
        rows = (await fake.get("/_fake/requests")).json()
    rows = rows["requests"] if isinstance(rows, dict) else rows
    assert not [r for r in rows if tag in r.get("prompt", "")]  # no model call made
    listed = await run_folio("jobs", "--json", url=url, token=token, cwd=tmp_path)
    assert json.loads(listed.stdout) == []  # the probe jobs were deleted

    plain = await run_folio("estimate", str(book), "--turbo", url=url, token=token, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert re.match(
        r"book\.txt: \d+ segments; about [\d,]+ tokens in \d+ model calls\n", plain.stdout
    )
    assert "  analysis: 0 calls" in plain.stdout


async def test_a_capped_job_pauses_with_exit_8_and_resume_finishes_it(stack, dev_token, tmp_path):
    url, token = stack.config.url("gateway"), dev_token(f"cli-cap-{uuid.uuid4().hex[:6]}")
    book = tmp_path / "capped.txt"
    book.write_text("\n\n".join(SAMPLE.read_text().split("\n\n")[:12]))
    paused = await run_folio(
        "translate", str(book), "--turbo", "--segment-size", "1000", "--max-tokens", "1",
        url=url, token=token, cwd=tmp_path,
    )  # fmt: skip
    assert paused.returncode == 8, paused.stderr
    job_id = re.search(r"job (\d+) submitted", paused.stdout).group(1)
    assert re.search(rf"^job {job_id}: paused: Paused: the spending cap", paused.stdout, re.M)
    assert paused.stderr.startswith(f"folio: error: job {job_id} paused: ")
    assert paused.stderr.rstrip().endswith(f"(continue with: folio resume {job_id} --max-tokens N)")
    assert not (tmp_path / "capped_translated.txt").exists()

    resumed = await run_folio(
        "resume", job_id, "--max-tokens", "10000000", "--follow", "--output", "txt",
        url=url, token=token, cwd=tmp_path,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert re.search(rf"^job {job_id} completed: 100% · (\d+)/\1 segments", resumed.stdout, re.M)
    assert "planning" not in resumed.stdout  # followed from the resume on, not its history
    assert HANGUL.search((tmp_path / "capped_translated.txt").read_text())
    shown = await run_folio("show", job_id, url=url, token=token, cwd=tmp_path)
    assert re.search(r"^spending cap\s+10,000,000 tokens$", shown.stdout, re.M)


async def test_untranslated_passages_are_shown_and_retranslate_fixes_them(
    stack, fake_llm, dev_token, tmp_path
):
    url, token = stack.config.url("gateway"), dev_token(f"cli-marked-{uuid.uuid4().hex[:6]}")
    tag = f"cli{uuid.uuid4().hex[:8]}"
    book = tmp_path / "marked.txt"
    book.write_text(
        "\n\n".join(
            f"{tag} paragraph {p}. Gregor looked at Grete while the rain fell on the window, "
            "and the clerk waited in the hall for an answer that did not come."
            for p in range(12)
        )
    )
    # The model answers this passage in its own language however often it is asked.
    added = await fake_llm.post(
        "/_fake/faults", json={"source_contains": f"{tag} paragraph 5.", "fault": "echo"}
    )
    assert added.status_code == 200, added.text
    try:
        first = await run_folio(
            "translate", str(book), "--turbo", "--segment-size", "1000", "--output", "txt",
            url=url, token=token, cwd=tmp_path,
        )  # fmt: skip
    finally:
        await fake_llm.delete("/_fake/faults")
    assert first.returncode == 0, first.stderr
    job_id = re.search(r"job (\d+) submitted", first.stdout).group(1)
    hint = re.compile(
        rf"^(\d+) passages? left untranslated — `folio retranslate {job_id} --failed`$", re.M
    )
    marked = hint.search(first.stdout)
    assert marked, first.stdout
    count = int(marked.group(1))
    assert count >= 1
    assert "[untranslated]" in (tmp_path / "marked_translated.txt").read_text()

    shown = await run_folio("show", job_id, url=url, token=token, cwd=tmp_path)
    assert re.search(rf"^untranslated\s+{count} passages? in segment \d+$", shown.stdout, re.M)
    assert hint.search(shown.stdout)
    listed = await run_folio("jobs", url=url, token=token, cwd=tmp_path)
    assert f"completed, {count} untranslated" in listed.stdout

    refused = await run_folio(
        "retranslate", job_id, "--segments", "999", url=url, token=token, cwd=tmp_path
    )
    assert refused.returncode == 5 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("folio: error: ") and "(HTTP 422)" in refused.stderr

    fixed = await run_folio(
        "retranslate", job_id, "--failed", "--follow", "--output", "txt",
        url=url, token=token, cwd=tmp_path,
    )  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    assert f"job {job_id}: processing, translating 1 segment again" in fixed.stdout
    assert re.search(rf"^job {job_id} completed: 100%", fixed.stdout, re.M)
    assert not hint.search(fixed.stdout)
    text = (tmp_path / "marked_translated.txt").read_text()
    assert "[untranslated]" not in text and f"{tag} paragraph 5." not in text
    again = await run_folio("show", job_id, url=url, token=token, cwd=tmp_path)
    assert "untranslated" not in again.stdout
