"""The engine benchmark runs with one command and reports what the issue asks for.

No timing is asserted here (timings belong to the benchmark's report, not to tests); this
only proves the command works end to end and prints its summary line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_engine_runs_and_prints_its_summary(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.engine",
            "--book",
            "samples/dream-of-a-ridiculous-man.txt",
            "--repeat",
            "1",
            "--output",
            str(tmp_path / "engine.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in (
        "wall_s_parallel",
        "wall_s_strict",
        "critical_path_s",
        "calls_parallel",
        "calls_strict",
        "input_tokens_parallel",
        "input_tokens_strict",
        "wall_s_rpm15",
        "calls_rpm15",
        "input_tokens_rpm15",
    ):
        assert summary[key] > 0, key
    assert summary["calls_parallel"] == summary["calls_strict"]  # same work, different order
    assert summary["input_tokens_parallel"] <= summary["input_tokens_strict"]
    # Under 15 requests a minute the plan makes fewer, larger calls.
    assert summary["calls_rpm15"] < summary["calls_parallel"]
    assert 0 <= summary["cacheable_input_share"] <= 1
    report = json.loads((tmp_path / "engine.json").read_text())
    assert {run["mode"] for run in report["runs"]} == {"default", "strict", "rpm15"}


def test_bench_gateway_runs_and_prints_its_summary(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.gateway",
            "--rounds",
            "1",
            "--duration",
            "1",
            "--latency-requests",
            "20",
            "--output",
            str(tmp_path / "gateway.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("rps_direct", "rps_gateway", "rps_nginx"):
        assert summary[key] > 0, key
    for key in ("p50_added_ms", "p99_added_ms", "rps_gateway_to_direct", "rps_gateway_to_nginx"):
        assert isinstance(summary[key], float), key
    report = json.loads((tmp_path / "gateway.json").read_text())
    assert {s["target"] for s in report["load"]} == {"direct", "gateway", "nginx"}
    assert all(s["errors"] == 0 and s["non_2xx"] == 0 for s in report["load"])
