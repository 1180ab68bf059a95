"""The README's first example, run as written (against this session's gateway)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def first_bash_block() -> str:
    """The example that starts with a development token."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return next(b for b in blocks if b.startswith("TOKEN=$(scripts/dev-token"))


async def test_the_readme_example_lists_your_jobs_and_uses_your_own_id(stack, tmp_path):
    assert shutil.which("curl"), "the README's examples use curl"
    script = first_bash_block()
    assert "$JOB" in script and "/api/v1/jobs/1" not in script
    # Only the address differs: this session's gateway runs on a free port.
    script = script.replace("http://127.0.0.1:8000", stack.config.url("gateway"))
    script = script.replace("scripts/dev-token", str(ROOT / "scripts/dev-token"))
    script = script.replace("@samples/", f"@{ROOT}/samples/")
    script = f'set -euo pipefail\n{script}\necho "JOB=$JOB"\n'
    result = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    job = re.search(r"JOB=(\d+)", result.stdout).group(1)
    assert int(job) >= 2**40  # a random id, the caller's own
    assert f'"id":{job}' in result.stdout.replace(" ", "")
    # The events were followed to the job's end, so the download is the finished book.
    book = (tmp_path / "dream-of-a-ridiculous-man_translated.txt").read_text()
    assert re.search(r"[\uac00-\ud7a3]", book) and "ridiculous" not in book


async def test_the_readme_cli_example_runs_as_written(stack, tmp_path):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    script = next(b for b in blocks if b.startswith("export FOLIO_TOKEN=$(scripts/dev-token"))
    folio = Path(sys.executable).parent / "folio"
    script = script.replace(".venv/bin/folio", str(folio))
    script = script.replace("scripts/dev-token", str(ROOT / "scripts/dev-token"))
    script = script.replace(" samples/", f" {ROOT}/samples/")
    script = f'set -euo pipefail\n{script}\necho "JOB=$JOB"\n'
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    env.update(FOLIO_URL=stack.config.url("gateway"), COLUMNS="200")  # this session's gateway
    result = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    job = re.search(r"JOB=(\d+)", result.stdout).group(1)
    assert re.search(rf"^job {job} completed: 100%", result.stdout, re.M)
    assert re.search(rf"^id\s+{job}$", result.stdout, re.M)  # folio show
    saved = {p.name for p in (tmp_path / "out").iterdir()}
    stem = "dream-of-a-ridiculous-man"
    assert {f"{stem}_translated.txt", f"{stem}_bilingual.txt", f"{stem}_glossary.json"} <= saved
    assert any(name.endswith(".pdf") for name in saved)
    assert re.search(
        r"dream-of-a-ridiculous-man\.txt: \d+ segments; about [\d,]+ tokens", result.stdout
    )
