"""The README's first example, run as written (against this session's gateway)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
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
