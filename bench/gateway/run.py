"""The gateway benchmark (see the package docstring)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx

from folio.identity import Identity, InternalTokenSigner
from folio_devstack import infra
from folio_devstack.cli import STATE_DIR, resolve_admin_url
from folio_devstack.stack import Stack, StackConfig, free_port
from folio_devstack.tokens import mint_dev_token

TARGETS = ("direct", "gateway", "nginx")
# wrk prints one JSON line at the end (its Lua ``done`` hook): counts and latency in µs.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors":%d,"non_2xx":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
end
"""
# nginx as a plain reverse proxy: one worker (the gateway is one process too), a keep-alive
# pool to the service, the default access log, buffering as shipped.
NGINX_CONF = """
{user}
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/client_body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream service {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://service;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}
  }}
}}
"""


@dataclass
class LoadSample:
    """One wrk run against one target (throughput at ``--connections``)."""

    target: str
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int
    cpu_ms_per_request: dict[str, float]


@dataclass
class LatencySample:
    """One round of the latency probe: per target, every request's time in ms."""

    round: int
    times_ms: dict[str, list[float]]


class KeepAliveProbe:
    """One keep-alive connection sending one request at a time: what a single request
    costs on each path when nothing queues. The targets take turns request by request, so
    whatever else runs on the machine slows all three alike."""

    def __init__(self, base: str, path: str, headers: dict[str, str]) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def get(self) -> float:
        try:
            return await self._get()
        except (asyncio.IncompleteReadError, ConnectionError):
            # A server may close a keep-alive connection after so many requests (nginx
            # does after 1000): measure again on a new one.
            await self.close()
            await self.open()
            return await self._get()

    async def _get(self) -> float:
        assert self.reader is not None and self.writer is not None
        started = time.perf_counter()
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        elapsed = time.perf_counter() - started
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"probe got {head[:40]!r}")
        return elapsed * 1000

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def ensure_tools() -> None:
    missing = [name for name in ("wrk", "nginx") if shutil.which(name) is None]
    if missing and not infra._apt_install(*(["nginx-light"] if "nginx" in missing else []), "wrk"):
        raise SystemExit(f"bench.gateway needs {', '.join(missing)} (apt-get install failed)")
    for name in ("wrk", "nginx"):
        if shutil.which(name) is None:
            raise SystemExit(f"bench.gateway needs {name} on PATH")


def _cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def _process_tree(pid: int) -> list[int]:
    """A process and its children (nginx's workers, a server's reloader)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            pids.extend(_process_tree(int(child)))
    return pids


class Nginx:
    def __init__(self, upstream_port: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="folio-bench-nginx-"))
        self.port = free_port()
        user = "user root;" if os.geteuid() == 0 else ""
        conf = NGINX_CONF.format(
            user=user, dir=self.dir, upstream_port=upstream_port, port=self.port
        )
        (self.dir / "nginx.conf").write_text(conf)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["nginx", "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not infra.port_open("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                errors = self.dir / "error.log"
                log = errors.read_text() if errors.exists() else ""
                raise SystemExit(f"nginx did not start: {log[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_wrk(
    url: str, headers: dict[str, str], *, connections: int, duration_s: float, script: Path
) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{int(duration_s)}s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=duration_s + 60, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


async def _wait_healthy(urls: list[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as client:
        for url in urls:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"{url} not healthy after {timeout_s}s")
                await asyncio.sleep(0.2)


async def bench(args: argparse.Namespace, admin_url: str, redis: bool) -> dict:
    run = uuid.uuid4().hex[:8]
    vhost = f"folio-bench-{run}"
    amqp = (
        f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"
        if infra.ensure_vhost(vhost)
        else "amqp://guest:guest@127.0.0.1:5672/"
    )
    config = StackConfig.with_free_ports(
        state_dir=Path(tempfile.mkdtemp(prefix="folio-bench-gateway-")),
        database=f"folio_bench_{run}",
        admin_url=admin_url,
        amqp_url=amqp,
        secrets_dir=STATE_DIR,
        # One gateway: its rate limits in process, unless --redis shares them as replicas do.
        redis_url="redis://127.0.0.1:6379/0" if args.redis and redis else None,
        redis_prefix=f"folio-bench-{run}",
        log_format="json",
    )
    config.service_env = {
        "gateway": {
            # The bench measures what rate limiting costs, not its refusals.
            "FOLIO_RATE_LIMITS": json.dumps({"default": {"user": "10000000/minute"}}),
            "FOLIO_RATE_LIMIT_SCALE": "1",
        }
    }
    stack = Stack(config)
    nginx = Nginx(config.ports["translation-service"])
    load_samples: list[LoadSample] = []
    latency_samples: list[LatencySample] = []
    script = config.state_dir / "report.lua"
    script.write_text(WRK_SCRIPT)
    try:
        await infra.wait_for_amqp(amqp)
        await stack.prepare_database()
        for name in ("translation-service", "gateway"):
            stack.start_process(name)
        await _wait_healthy(
            [config.url("translation-service") + "/readyz", config.url("gateway") + "/healthz"]
        )
        nginx.start()
        user = f"bench-{run}"
        token = mint_dev_token(STATE_DIR, user, ttl_s=6 * 3600)
        signer = InternalTokenSigner(
            stack.secrets.internal_private_pem,
            issuer="folio-gateway",
            audience="folio-internal",
            ttl_s=6 * 3600,
        )
        internal = signer.sign(Identity(user_id=user, email=f"{user}@example.invalid", name=user))
        async with httpx.AsyncClient(timeout=30) as client:
            created = await client.post(
                config.url("gateway") + "/api/v1/jobs",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": ("bench.txt", b"One short book.\n\nTwo paragraphs.", "text/plain")},
            )
            created.raise_for_status()
        path = f"/api/v1/jobs/{created.json()['id']}"
        targets = {
            "direct": (config.url("translation-service"), {"X-Folio-Identity": internal}),
            "gateway": (config.url("gateway"), {"Authorization": f"Bearer {token}"}),
            "nginx": (f"http://127.0.0.1:{nginx.port}", {"X-Folio-Identity": internal}),
        }
        pids = {
            "service": _process_tree(stack.processes["translation-service"].pid),
            "gateway": _process_tree(stack.processes["gateway"].pid),
            "nginx": _process_tree(nginx.process.pid) if nginx.process else [],
        }
        async with httpx.AsyncClient(timeout=10) as client:
            for base, headers in targets.values():
                response = await client.get(base + path, headers=headers)
                if response.status_code != 200:
                    raise SystemExit(f"{base}{path}: {response.status_code} {response.text}")
        # Warm every path (connection pools, caches) before measuring.
        for base, headers in targets.values():
            run_wrk(base + path, headers, connections=args.connections, duration_s=2, script=script)
        probes = {
            name: KeepAliveProbe(base, path, headers) for name, (base, headers) in targets.items()
        }
        for probe in probes.values():
            await probe.open()
        ticks = os.sysconf("SC_CLK_TCK")
        for round_ in range(args.rounds):
            order = TARGETS[round_ % 3 :] + TARGETS[: round_ % 3]
            for target in order:
                base, headers = targets[target]
                before = {name: _cpu_ticks(p) for name, p in pids.items()}
                report = run_wrk(
                    base + path,
                    headers,
                    connections=args.connections,
                    duration_s=args.duration,
                    script=script,
                )
                after = {name: _cpu_ticks(p) for name, p in pids.items()}
                count = max(report["requests"], 1)
                sample = LoadSample(
                    target=target,
                    round=round_ + 1,
                    rps=report["requests"] / (report["duration_us"] / 1e6),
                    p50_ms=report["p50_us"] / 1000,
                    p99_ms=report["p99_us"] / 1000,
                    errors=report["errors"],
                    non_2xx=report["non_2xx"],
                    cpu_ms_per_request={
                        name: round((after[name] - before[name]) / ticks * 1000 / count, 3)
                        for name in pids
                    },
                )
                load_samples.append(sample)
                print(
                    f"round {sample.round} load {target:>7}: {sample.rps:7.0f} req/s, "
                    f"p50 {sample.p50_ms:6.2f} ms, p99 {sample.p99_ms:6.2f} ms, "
                    f"errors {sample.errors + sample.non_2xx}, CPU ms/request "
                    f"{sample.cpu_ms_per_request}, load {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
            times: dict[str, list[float]] = {name: [] for name in TARGETS}
            for _ in range(args.latency_requests):
                for target in order:
                    times[target].append(await probes[target].get())
            latency_samples.append(LatencySample(round_ + 1, times))
            print(
                f"round {round_ + 1} one at a time (p50 / p99): "
                + ", ".join(
                    f"{t} {_percentile(times[t], 50):.2f} / {_percentile(times[t], 99):.2f} ms"
                    for t in TARGETS
                )
                + f", load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        for probe in probes.values():
            await probe.close()
    finally:
        nginx.stop()
        stack.stop()
        infra.delete_vhost(vhost)
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{config.database}" WITH (FORCE)')
        finally:
            await conn.close()
    return summarise(load_samples, latency_samples, args)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _spread(values: list[float]) -> list[float]:
    return [round(min(values), 3), round(max(values), 3)] if values else []


def summarise(
    load: list[LoadSample], latency: list[LatencySample], args: argparse.Namespace
) -> dict:
    rounds = sorted({s.round for s in load})
    by_round = {r: {s.target: s for s in load if s.round == r} for r in rounds}
    ratio_direct = [b["gateway"].rps / b["direct"].rps for b in by_round.values()]
    ratio_nginx = [b["gateway"].rps / b["nginx"].rps for b in by_round.values()]
    pooled = {t: [ms for sample in latency for ms in sample.times_ms[t]] for t in TARGETS}

    def added(target: str, pct: float, samples: list[LatencySample]) -> float:
        return _percentile([ms for s in samples for ms in s.times_ms[target]], pct) - _percentile(
            [ms for s in samples for ms in s.times_ms["direct"]], pct
        )

    per_round_p50 = [added("gateway", 50, [s]) for s in latency]
    summary: dict = {
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": len(rounds),
        "latency_requests_per_round": args.latency_requests,
        "load_average_at_end": round(os.getloadavg()[0], 2),
    }
    for target in TARGETS:
        rps = [s.rps for s in load if s.target == target]
        summary[f"rps_{target}"] = round(_median(rps), 1)
        summary[f"rps_{target}_spread"] = _spread(rps)
    summary.update(
        rps_gateway_to_direct=round(_median(ratio_direct), 3),
        rps_gateway_to_direct_spread=_spread(ratio_direct),
        rps_gateway_to_nginx=round(_median(ratio_nginx), 3),
        rps_gateway_to_nginx_spread=_spread(ratio_nginx),
        p50_added_ms=round(added("gateway", 50, latency), 3),
        p50_added_ms_spread=_spread(per_round_p50),
        p99_added_ms=round(added("gateway", 99, latency), 3),
        nginx_p50_added_ms=round(added("nginx", 50, latency), 3),
        nginx_p99_added_ms=round(added("nginx", 99, latency), 3),
    )
    for target in TARGETS:
        group = [s for s in load if s.target == target]
        summary[f"{target}_under_load"] = {
            "p50_ms": round(_median([s.p50_ms for s in group]), 3),
            "p99_ms": round(_median([s.p99_ms for s in group]), 3),
            "cpu_ms_per_request": {
                name: round(_median([s.cpu_ms_per_request[name] for s in group]), 3)
                for name in (group[0].cpu_ms_per_request if group else {})
            },
        }
        summary[f"{target}_one_at_a_time"] = {
            "p50_ms": round(_percentile(pooled[target], 50), 3),
            "p99_ms": round(_percentile(pooled[target], 99), 3),
        }
    if args.output:
        path = Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "summary": summary,
                    "load": [asdict(s) for s in load],
                    "latency": [
                        {
                            t: {"p50_ms": _percentile(v, 50), "p99_ms": _percentile(v, 99)}
                            for t, v in s.times_ms.items()
                        }
                        | {"round": s.round}
                        for s in latency
                    ],
                },
                indent=2,
            )
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__)
    parser.add_argument("--connections", type=int, default=16, help="connections in the load phase")
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per target")
    parser.add_argument("--rounds", type=int, default=6, help="rounds (medians are reported)")
    parser.add_argument(
        "--latency-requests",
        type=int,
        default=500,
        help="requests per target and round in the one-at-a-time latency probe",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="share the gateway's rate limits through Redis (as several replicas would)",
    )
    parser.add_argument("--output", default="bench/results/gateway.json")
    args = parser.parse_args()
    ensure_tools()
    infra.ensure_postgres()
    infra.ensure_rabbitmq()
    redis = infra.ensure_redis()
    summary = asyncio.run(bench(args, resolve_admin_url(STATE_DIR), redis))
    print(
        json.dumps(
            {
                key: summary[key]
                for key in (
                    "rps_direct",
                    "rps_gateway",
                    "rps_nginx",
                    "p50_added_ms",
                    "p99_added_ms",
                    "rps_gateway_to_direct",
                    "rps_gateway_to_nginx",
                )
            }
        )
    )


if __name__ == "__main__":
    main()
