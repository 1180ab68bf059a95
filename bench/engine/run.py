"""The engine benchmark (see the package docstring)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx

from folio_devstack import infra
from folio_devstack.cli import STATE_DIR, resolve_admin_url
from folio_devstack.follow import job_updates
from folio_devstack.stack import Stack, StackConfig
from folio_devstack.tokens import mint_dev_token

BOOK = Path(__file__).resolve().parents[1] / "data" / "metamorphosis.txt"
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "dream-of-a-ridiculous-man.txt"
LATENCY = {"FAKE_LLM_LATENCY_BASE_MS": "50", "FAKE_LLM_LATENCY_PER_CHAR_MS": "0.2"}
# The requests-bound run: the fake answers 429 + Retry-After beyond 15 requests in any
# 60 s per key (Gemini's free tier), and the deployment's provider is configured with it.
RPM = 15
CACHE_MIN_TOKENS = 1024  # OpenAI's smallest cached prefix; 4 bytes a token, as the fake
ANALYSIS_SCHEMAS = {"ChunkAnalysis"}
RENDERING_SCHEMAS = {"GlossaryRenderings"}


@dataclass
class RunResult:
    mode: str
    wall_s: float
    calls: int
    input_tokens: int
    output_tokens: int
    segments: int
    prompt_tokens: int
    cacheable_tokens: int
    analysis_chain_s: float
    slowest_translation_s: float
    model_time_s: float
    concurrency_limit: int
    timeline: list | None = None
    cpu_s: dict | None = None
    messages: dict | None = None
    cpu_s_drained: dict | None = None

    @property
    def cacheable_share(self) -> float:
        return self.cacheable_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @property
    def critical_path_s(self) -> float:
        return max(
            self.analysis_chain_s + self.slowest_translation_s,
            self.model_time_s / self.concurrency_limit,
        )


def _cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time used so far by each process of the stack (Linux /proc; {} elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used = {}
    for name, process in stack.processes.items():
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[name] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def cacheable_tokens(prompts: list[str]) -> int:
    """Input tokens that sit in a prefix of 1024+ tokens shared with an earlier prompt of
    the job (what a provider's prefix cache can serve), at 4 bytes a token."""
    seen: list[bytes] = []
    total = 0
    for prompt in prompts:
        data = prompt.encode()
        shared = max((_common_prefix(data, earlier) for earlier in seen), default=0)
        if shared // 4 >= CACHE_MIN_TOKENS:
            total += shared // 4
        seen.append(data)
    return total


def _common_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    low, high = 0, n  # binary search on slices: fast for long shared prefixes
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


async def _message_counts(config: StackConfig) -> dict[str, int]:
    """Messages so far, by type: every service's outbox (what it sent through the broker)
    and inbox (what it consumed, the worker's events included), per schema."""
    conn = await asyncpg.connect(config.admin_url.rsplit("/", 1)[0] + f"/{config.database}")
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_name IN ('outbox', 'inbox')"
        )
        counts: dict[str, int] = {}
        for table in tables:
            schema, name = table["table_schema"], table["table_name"]
            rows = await conn.fetch(
                f'SELECT message_type, count(*) AS n FROM "{schema}"."{name}" GROUP BY 1'
            )
            for row in rows:
                counts[f"{schema}.{name}:{row['message_type']}"] = row["n"]
        return counts
    finally:
        await conn.close()


def _counts_delta(before: dict[str, int], after: dict[str, int]) -> dict:
    delta = {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
    totals: dict[str, int] = {}
    for key, n in delta.items():
        table = key.split(":", 1)[0]
        totals[table] = totals.get(table, 0) + n
    return {"total": totals, "by_type": dict(sorted(delta.items()))}


async def _run_mode(stack: Stack, mode: str, token: str, concurrency: int, book: Path) -> RunResult:
    gateway, fake = stack.config.url("gateway"), stack.config.url("fake-llm")
    messages_before = await _message_counts(stack.config)
    async with httpx.AsyncClient(timeout=120) as client:
        await client.post(f"{fake}/_fake/reset")
        data = {"strict_continuity": "true"} if mode == "strict" else {}  # rpm15: default
        headers = {"Authorization": f"Bearer {token}"}
        body = await asyncio.to_thread(book.read_bytes)
        cpu_before = _cpu_seconds(stack)
        started = time.perf_counter()
        started_unix = time.time()
        response = await client.post(
            f"{gateway}/api/v1/jobs",
            headers=headers,
            data=data,
            files={"file": (book.name, body, "text/plain")},
        )
        response.raise_for_status()
        job = response.json()
        # Server-sent events, like a client's progress bar: no polling load on the stack,
        # and the end is seen the moment it happens.
        client.base_url = httpx.URL(gateway)
        async for update in job_updates(client, job["id"], headers):
            job = update
        wall = time.perf_counter() - started
        cpu_after = _cpu_seconds(stack)
        if job["status"] != "COMPLETED":
            raise SystemExit(f"{mode} run ended {job['status']}: {job.get('error_message')}")
        requests = (await client.get(f"{fake}/_fake/requests")).json()
    # The job's last consumers (usage, task reports) may still be draining: wait until the
    # counts stop moving, then take the difference.
    messages_after = await _message_counts(stack.config)
    for _ in range(50):
        await asyncio.sleep(0.2)
        latest = await _message_counts(stack.config)
        if latest == messages_after:
            break
        messages_after = latest
    cpu_drained = _cpu_seconds(stack)
    requests = requests["requests"] if isinstance(requests, dict) else requests
    ok = [r for r in requests if r.get("outcome") == "ok"]
    analysis = [r["latency_ms"] for r in ok if r.get("schema_name") in ANALYSIS_SCHEMAS]
    rendering = [r["latency_ms"] for r in ok if r.get("schema_name") in RENDERING_SCHEMAS]
    translation = [r["latency_ms"] for r in ok if not r.get("structured")]
    prompts = [r["prompt"] for r in sorted(requests, key=lambda r: r["seq"])]
    chain = (max(analysis, default=0) + max(rendering, default=0)) / 1000
    return RunResult(
        mode=mode,
        wall_s=wall,
        calls=len(requests),
        input_tokens=job["usage"]["input_tokens"],
        output_tokens=job["usage"]["output_tokens"],
        segments=job["total_segments"],
        prompt_tokens=sum(r.get("prompt_tokens", 0) for r in requests),
        cacheable_tokens=cacheable_tokens(prompts),
        analysis_chain_s=chain,
        slowest_translation_s=max(translation, default=0) / 1000,
        model_time_s=sum(r["latency_ms"] for r in ok) / 1000,
        concurrency_limit=concurrency,
        cpu_s={k: round(cpu_after[k] - cpu_before.get(k, 0.0), 2) for k in cpu_after},
        cpu_s_drained={k: round(cpu_drained[k] - cpu_before.get(k, 0.0), 2) for k in cpu_drained},
        messages=_counts_delta(messages_before, messages_after),
        timeline=[
            {
                "start_s": round(r["at"] - started_unix, 3),
                "latency_s": round(r["latency_ms"] / 1000, 3),
                "kind": r.get("schema_name") or ("text" if not r.get("structured") else "json"),
                "outcome": r.get("outcome"),
            }
            for r in requests
        ],
    )


async def _forget_answers(config: StackConfig) -> None:
    """Empty the translation memory and the response cache: every run starts cold, and
    nothing one mode (or the warm-up) learned may help the other."""
    conn = await asyncpg.connect(config.admin_url.rsplit("/", 1)[0] + f"/{config.database}")
    try:
        await conn.execute("DELETE FROM translation.translation_memory")
    finally:
        await conn.close()
    if not config.redis_url:
        return
    import redis.asyncio as redis

    client = redis.from_url(config.redis_url)
    try:
        keys = [key async for key in client.scan_iter(f"{config.redis_prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def _warm_up(config: StackConfig, token: str) -> None:
    """One whole job on another book first: connections, caches of compiled patterns and
    schemas, the parser process. Measured runs then see a warm service, as in production."""
    headers = {"Authorization": f"Bearer {token}"}
    gateway = config.url("gateway")
    async with httpx.AsyncClient(timeout=120) as client:
        response = await client.post(
            f"{gateway}/api/v1/jobs",
            headers=headers,
            files={"file": (SAMPLE.name, SAMPLE.read_bytes(), "text/plain")},
        )
        job = response.raise_for_status().json()
        client.base_url = httpx.URL(gateway)
        async for _ in job_updates(client, job["id"], headers):
            pass


def _stack_config(run: str, admin_url: str, amqp: str, redis: bool, rpm: int | None) -> StackConfig:
    fake_env = dict(LATENCY)
    if rpm:
        fake_env["FAKE_LLM_RPM_LIMIT"] = str(rpm)
    config = StackConfig.with_free_ports(
        state_dir=Path(tempfile.mkdtemp(prefix="folio-bench-")),
        database=f"folio_bench_{run}",
        admin_url=admin_url,
        amqp_url=amqp,
        secrets_dir=STATE_DIR,
        fake_llm_env=fake_env,
        redis_url="redis://127.0.0.1:6379/0" if redis else None,
        redis_prefix=f"folio-bench-{run}",
        log_format="text",
    )
    return config


async def _bench_stack(
    args: argparse.Namespace,
    admin_url: str,
    redis: bool,
    modes: list[str],
    rpm: int | None,
) -> list[RunResult]:
    """One stack (a fresh database and virtual host), the given modes, ``--repeat`` each."""
    run = uuid.uuid4().hex[:8]
    vhost = f"folio-bench-{run}"
    amqp = (
        f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"
        if infra.ensure_vhost(vhost)
        else "amqp://guest:guest@127.0.0.1:5672/"
    )
    config = _stack_config(run, admin_url, amqp, redis, rpm)
    concurrency = args.concurrency
    worker_env = {"FOLIO_LLM_MAX_CONCURRENCY_PER_KEY": str(concurrency)}
    if rpm:
        worker_env["FOLIO_LLM_REQUESTS_PER_MINUTE"] = str(rpm)
    config.service_env = {"worker-service": worker_env}
    stack = Stack(config)
    results: list[RunResult] = []
    try:
        await infra.wait_for_amqp(amqp)
        await stack.prepare_database()
        await stack.start()
        token = mint_dev_token(STATE_DIR, f"bench-{run}")
        if not rpm:  # a paced warm-up would cost minutes and warm nothing that matters
            await _warm_up(config, token)
        repeat = args.repeat_rpm if rpm else args.repeat
        for mode in modes:
            for attempt in range(repeat):
                await _forget_answers(config)
                result = await _run_mode(stack, mode, token, concurrency, Path(args.book))
                results.append(result)
                print(
                    f"{mode:>8}: {result.wall_s:7.2f} s wall, {result.calls:4d} calls, "
                    f"{result.input_tokens:7d} in / {result.output_tokens:7d} out tokens, "
                    f"cache-eligible input {result.cacheable_share:.0%}, "
                    f"{result.segments} segments, critical path {result.critical_path_s:.2f} s; "
                    f"CPU s by process: {result.cpu_s} (drained {result.cpu_s_drained}); "
                    f"messages: {result.messages['total']}",
                    flush=True,
                )
                if rpm and attempt != repeat - 1:
                    await asyncio.sleep(60)  # the provider's window forgets the last run
    finally:
        stack.stop()
        infra.delete_vhost(vhost)
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{config.database}" WITH (FORCE)')
        finally:
            await conn.close()
    return results


async def bench(args: argparse.Namespace, admin_url: str, redis: bool) -> dict:
    concurrency = args.concurrency
    latency_modes = [m for m in args.modes if m != "rpm15"]
    results: list[RunResult] = []
    if latency_modes:
        results += await _bench_stack(args, admin_url, redis, latency_modes, None)
    if "rpm15" in args.modes:
        results += await _bench_stack(args, admin_url, redis, ["rpm15"], RPM)
    parallel, strict = _median_run(results, "default"), _median_run(results, "strict")
    paced = _median_run(results, "rpm15")
    summary: dict = {
        "book": Path(args.book).name,
        "concurrency_limit": concurrency,
        "runs_per_mode": args.repeat,
        "runs_rpm15": args.repeat_rpm if "rpm15" in args.modes else 0,
    }
    if parallel:
        summary.update(
            wall_s_parallel=round(parallel.wall_s, 3),
            calls_parallel=parallel.calls,
            input_tokens_parallel=parallel.input_tokens,
            output_tokens_parallel=parallel.output_tokens,
            critical_path_s=round(parallel.critical_path_s, 3),
            ratio_parallel_to_critical_path=round(parallel.wall_s / parallel.critical_path_s, 3),
            analysis_chain_s=round(parallel.analysis_chain_s, 3),
            slowest_translation_s=round(parallel.slowest_translation_s, 3),
            model_time_s_parallel=round(parallel.model_time_s, 3),
            cacheable_input_share=round(parallel.cacheable_share, 3),
            cpu_s_parallel=parallel.cpu_s_drained,
            messages_parallel=(parallel.messages or {}).get("total"),
        )
    if strict:
        summary.update(
            wall_s_strict=round(strict.wall_s, 3),
            calls_strict=strict.calls,
            input_tokens_strict=strict.input_tokens,
            output_tokens_strict=strict.output_tokens,
            cacheable_input_share_strict=round(strict.cacheable_share, 3),
        )
    if parallel and strict:
        summary.update(
            ratio_strict_to_critical_path=round(strict.wall_s / parallel.critical_path_s, 3),
            speedup_parallel_over_strict=round(strict.wall_s / parallel.wall_s, 2),
        )
    if paced:
        summary.update(
            wall_s_rpm15=round(paced.wall_s, 3),
            calls_rpm15=paced.calls,
            input_tokens_rpm15=paced.input_tokens,
            output_tokens_rpm15=paced.output_tokens,
            cacheable_input_share_rpm15=round(paced.cacheable_share, 3),
        )
        summary.setdefault("cacheable_input_share", round(paced.cacheable_share, 3))
    if args.output:
        _write(Path(args.output), {"summary": summary, "runs": [asdict(r) for r in results]})
    return summary


def _median_run(results: list[RunResult], mode: str) -> RunResult | None:
    """The run with the median wall time (the upper one of an even count): one noisy run
    on a shared machine neither flatters nor spoils the figures."""
    runs = sorted((r for r in results if r.mode == mode), key=lambda r: r.wall_s)
    return runs[len(runs) // 2] if runs else None


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["default", "strict", "rpm15"],
        choices=["default", "strict", "rpm15"],
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="concurrent model calls per provider key (the concurrency limit)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per mode; the summary reports each mode's median run",
    )
    parser.add_argument(
        "--repeat-rpm",
        type=int,
        default=1,
        help="runs of the 15-requests-per-minute mode (each takes a minute or more)",
    )
    parser.add_argument("--output", default="bench/results/engine.json")
    parser.add_argument("--book", default=str(BOOK), help="the book to translate")
    args = parser.parse_args()
    infra.ensure_postgres()
    infra.ensure_rabbitmq()
    redis = infra.ensure_redis()
    summary = asyncio.run(bench(args, resolve_admin_url(STATE_DIR), redis))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
