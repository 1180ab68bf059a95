"""The read-cache benchmark (see the package docstring)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx

from folio.identity import IDENTITY_HEADER, Identity, InternalTokenSigner
from folio_devstack import infra
from folio_devstack.cli import STATE_DIR, resolve_admin_url
from folio_devstack.secrets import load_or_create
from folio_devstack.stack import Stack, StackConfig, free_port

SCENARIOS = ("overview, anonymous", "post list, anonymous", "post list, signed in")


def _spawn(stack: Stack, port: int, redis_url: str | None) -> subprocess.Popen:
    process = stack.start_replica(
        "community-service",
        port,
        {"FOLIO_LOG_LEVEL": "WARNING", "FOLIO_REDIS_URL": redis_url or ""},
    )
    return process


async def _ready(url: str, process: subprocess.Popen) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            if process.poll() is not None:
                raise RuntimeError(f"community-service exited with {process.returncode}")
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} not ready")


def _headers(signer: InternalTokenSigner, user_id: str, role: str = "user") -> dict[str, str]:
    identity = Identity(user_id=user_id, role=role, name=user_id, claimed_role=role)
    return {IDENTITY_HEADER: signer.sign(identity)}


async def _seed(url: str, signer: InternalTokenSigner, posts: int, comments: int) -> str:
    """A board of ``posts`` posts (every tenth private), each with ``comments`` comments
    (one private reply among them); returns the category's name."""
    admin = _headers(signer, "bench-admin", "admin")
    writers = [_headers(signer, f"bench-writer-{i}") for i in range(10)]
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        name = f"bench-{uuid.uuid4().hex[:6]}"
        category = await client.post(
            "/api/v1/community/categories",
            headers=admin,
            json={"name": name, "display_name": "Bench board"},
        )
        category.raise_for_status()
        category_id = category.json()["id"]
        semaphore = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with semaphore:
                author = writers[i % len(writers)]
                post = await client.post(
                    "/api/v1/community/posts",
                    headers=author,
                    json={
                        "title": f"Post {i} about chapter {i % 17}",
                        "content": f"Thoughts on chapter {i % 17}. " * 20,
                        "category_id": category_id,
                        "is_private": i % 10 == 0,
                    },
                )
                post.raise_for_status()
                post_id = post.json()["id"]
                parent = None
                for j in range(comments):
                    made = await client.post(
                        f"/api/v1/community/posts/{post_id}/comments",
                        # Only its author (or an admin) may comment on a private post.
                        headers=author if i % 10 == 0 else writers[(i + j + 1) % len(writers)],
                        json={
                            "content": f"Comment {j}",
                            "post_id": post_id,
                            "parent_id": parent,
                            "is_private": j == 1,
                        },
                    )
                    made.raise_for_status()
                    parent = made.json()["id"] if j == 0 else parent

        await asyncio.gather(*(one(i) for i in range(posts)))
    return name


async def _measure(
    client: httpx.AsyncClient,
    path: str,
    params: dict,
    headers: dict,
    requests: int,
    concurrency: int,
) -> dict:
    latencies: list[float] = []
    queue = iter(range(requests))

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            response = await client.get(path, params=params, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests_per_s": requests / wall,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)],
    }


async def bench(args: argparse.Namespace, admin_url: str) -> dict:
    run = uuid.uuid4().hex[:8]
    vhost = f"folio-bench-{run}"
    amqp = (
        f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"
        if infra.ensure_vhost(vhost)
        else "amqp://guest:guest@127.0.0.1:5672/"
    )
    config = StackConfig(
        state_dir=Path(tempfile.mkdtemp(prefix="folio-bench-cache-")),
        database=f"folio_bench_{run}",
        admin_url=admin_url,
        amqp_url=amqp,
        secrets_dir=STATE_DIR,
        redis_prefix=f"folio-bench-{run}",
        log_format="text",
    )
    stack = Stack(config)
    secrets = load_or_create(STATE_DIR)
    signer = InternalTokenSigner(secrets.internal_private_pem, "folio-gateway", "folio-internal")
    ports = {"cached": free_port(), "uncached": free_port()}
    processes: dict[str, subprocess.Popen] = {}
    results: dict[str, dict[str, list[dict]]] = {
        s: {"cached": [], "uncached": []} for s in SCENARIOS
    }
    try:
        await infra.wait_for_amqp(amqp)
        await stack.prepare_database()
        processes["cached"] = _spawn(stack, ports["cached"], config.redis_url)
        processes["uncached"] = _spawn(stack, ports["uncached"], None)
        for name, process in processes.items():
            await _ready(f"http://127.0.0.1:{ports[name]}", process)
        category = await _seed(
            f"http://127.0.0.1:{ports['uncached']}", signer, args.posts, args.comments
        )
        reader = _headers(signer, "bench-writer-3")
        workload = {
            "overview, anonymous": ("/api/v1/community/categories/overview", {}, {}),
            "post list, anonymous": (
                "/api/v1/community/posts",
                {"category": category, "limit": 20},
                {},
            ),
            "post list, signed in": (
                "/api/v1/community/posts",
                {"category": category, "limit": 20, "skip": 20},
                reader,
            ),
        }
        limits = httpx.Limits(max_connections=args.concurrency * 2)
        clients = {
            name: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits)
            for name, port in ports.items()
        }
        try:
            for client in clients.values():  # warm up both (and fill the cache)
                for path, params, headers in workload.values():
                    await _measure(client, path, params, headers, 20, 2)
            for round_ in range(args.rounds):
                order = ["cached", "uncached"] if round_ % 2 == 0 else ["uncached", "cached"]
                for scenario, (path, params, headers) in workload.items():
                    for name in order:
                        figures = await _measure(
                            clients[name], path, params, headers, args.requests, args.concurrency
                        )
                        results[scenario][name].append(figures)
                        print(
                            f"round {round_ + 1} {scenario:>22} {name:>8}: "
                            f"{figures['requests_per_s']:8.1f} req/s, "
                            f"p50 {figures['p50_ms']:6.1f} ms, p95 {figures['p95_ms']:6.1f} ms",
                            flush=True,
                        )
        finally:
            for client in clients.values():
                await client.aclose()
    finally:
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            await asyncio.to_thread(process.wait, 30)
        infra.delete_vhost(vhost)
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{config.database}" WITH (FORCE)')
        finally:
            await conn.close()

    summary: dict = {
        "posts": args.posts,
        "comments_per_post": args.comments,
        "requests_per_measurement": args.requests,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
    }
    for scenario, by_mode in results.items():
        median = {
            mode: {
                key: statistics.median(r[key] for r in runs)
                for key in ("requests_per_s", "p50_ms", "p95_ms")
            }
            for mode, runs in by_mode.items()
        }
        # Each round measures both side by side: the ratio is taken per round (the machine's
        # load then weighs on both alike), and its median reported.
        ratios = [
            c["requests_per_s"] / u["requests_per_s"]
            for c, u in zip(by_mode["cached"], by_mode["uncached"], strict=True)
        ]
        key = scenario.replace(", ", "_").replace(" ", "_")
        summary[key] = {
            "cached_requests_per_s": round(median["cached"]["requests_per_s"], 1),
            "uncached_requests_per_s": round(median["uncached"]["requests_per_s"], 1),
            "throughput_ratio": round(statistics.median(ratios), 2),
            "throughput_ratios": [round(r, 2) for r in ratios],
            "cached_p50_ms": round(median["cached"]["p50_ms"], 2),
            "uncached_p50_ms": round(median["uncached"]["p50_ms"], 2),
        }
    if args.output:
        path = Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"summary": summary, "runs": results}, indent=2))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cache", description=__doc__)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--comments", type=int, default=3, help="comments per post")
    parser.add_argument("--requests", type=int, default=300, help="per measurement")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", default="bench/results/cache.json")
    args = parser.parse_args()
    infra.ensure_postgres()
    infra.ensure_rabbitmq()
    if not infra.ensure_redis():
        raise SystemExit("bench.cache needs Redis (it measures the Redis cache)")
    admin_url = resolve_admin_url(STATE_DIR)
    summary = asyncio.run(bench(args, admin_url))
    print(json.dumps(summary), flush=True)
