"""The cache benchmark runs with one command and reports both sides (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_cache_runs_and_prints_its_summary(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.cache",
            *("--posts", "12", "--comments", "2", "--requests", "20", "--rounds", "1"),
            *("--output", str(tmp_path / "cache.json")),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for scenario in ("overview_anonymous", "post_list_anonymous", "post_list_signed_in"):
        figures = summary[scenario]
        assert figures["cached_requests_per_s"] > 0 and figures["uncached_requests_per_s"] > 0
        assert len(figures["throughput_ratios"]) == 1
    assert json.loads((tmp_path / "cache.json").read_text())["summary"] == summary
