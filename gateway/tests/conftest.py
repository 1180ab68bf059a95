"""The gateway under test as a real process (its production command line), in front of
real HTTP services run by the test: each answers whatever path the gateway forwards, in the
way the ``fake`` query parameter asks (echo, redirect, duplicated headers, events, slow,
sink, download, a status), and records what it saw."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from folio.identity import generate_ed25519_keypair
from folio_devstack.stack import free_port
from folio_gateway.dev_issuer import generate_rsa_keypair, jwks_for, mint_token

REPO = Path(__file__).resolve().parents[2]
ISSUER = "https://clerk.folio.test"
FRONTEND = "https://app.folio.test"


class FakeService:
    """One service behind the gateway, over real HTTP."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.hits: list[str] = []
        self.cancelled: list[str] = []
        self.received: dict[str, int] = {}
        self.gates: dict[str, asyncio.Event] = {}
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=1024**3)
        app.router.add_get("/readyz", lambda _: web.json_response({"status": "ready"}))
        app.router.add_route("*", "/{tail:.*}", self.handle)
        # Cancel the handler when the client (the gateway) goes away, as real servers do.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def gate(self, key: str) -> asyncio.Event:
        return self.gates.setdefault(key, asyncio.Event())

    async def handle(self, request: web.Request) -> web.StreamResponse:
        fake = request.query.get("fake", "echo")
        self.hits.append(f"{request.method} {request.path} {fake}")
        try:
            return await getattr(self, f"_{fake.replace('-', '_')}")(request)
        except asyncio.CancelledError:
            self.cancelled.append(f"{request.method} {request.path} {fake}")
            raise

    async def _echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {
                "service": self.name,
                "method": request.method,
                "path": request.path,
                "raw_path": request.raw_path,
                "query": request.query_string,
                "headers": [[k.decode().lower(), v.decode()] for k, v in request.raw_headers],
                "body_bytes": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
        )

    async def _redirect(self, request: web.Request) -> web.Response:
        # What a framework does behind a proxy: an absolute URL on its own address.
        return web.Response(
            status=307,
            headers={
                "Location": f"{self.url}{request.path}/next?x=1",
                "Content-Location": f"{self.url}/api/v1/elsewhere",
            },
        )

    async def _external_redirect(self, request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "https://storage.example/b?sig=1"})

    async def _dup(self, request: web.Request) -> web.Response:
        response = web.Response(text="ok")
        for name, value in (
            ("Vary", "Accept-Encoding"),
            ("Vary", "Accept-Language"),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/"),
            ("Server", "fake/1.0"),
            ("X-Request-ID", "upstream-made-this"),
            ("Connection", "X-Hop-Secret"),
            ("X-Hop-Secret", "should-not-pass"),
            ("Keep-Alive", "timeout=5"),
            ("Access-Control-Allow-Origin", "*"),
            ("X-Frame-Options", "SAMEORIGIN"),
        ):
            response.headers.add(name, value)
        return response

    async def _sse(self, request: web.Request) -> web.StreamResponse:
        """Events in lockstep with the test: event i+1 is written only once the test has
        received event i through the gateway (a buffering proxy would stall here)."""
        count = int(request.query.get("n", "3"))
        key = request.query.get("key", "sse")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for index in range(count):
            payload = json.dumps({"index": index})
            await response.write(f"id: {index}\ndata: {payload}\n\n".encode())
            gate = self.gate(f"{key}:{index}")
            try:
                await asyncio.wait_for(gate.wait(), timeout=5)
            except TimeoutError:
                await response.write(b"data: stalled\n\n")
                break
        await response.write_eof()
        return response

    async def _slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("s", "5")))
        return web.json_response({"slept": True})

    async def _sink(self, request: web.Request) -> web.Response:
        total = 0
        async for chunk in request.content.iter_any():
            total += len(chunk)
        self.received[request.path] = total
        return web.json_response({"bytes": total})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        size = int(request.query.get("mb", "1")) * 1024 * 1024
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = size
        await response.prepare(request)
        block = b"\0" * (256 * 1024)
        for _ in range(0 if request.method == "HEAD" else size // len(block)):
            await response.write(block)
        await response.write_eof()
        return response

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "chosen"}, status=int(request.query["code"]))

    async def _openapi(self, request: web.Request) -> web.Response:
        return web.json_response({"openapi": "3.1.0", "info": {"title": self.name}})


class JwksServer:
    """The identity provider's JWKS endpoint, with keys the test can rotate."""

    def __init__(self, public_pems: list[str]) -> None:
        self.port = free_port()
        self.public_pems = list(public_pems)
        self.fetches = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/.well-known/jwks.json"

    async def _jwks(self, _: web.Request) -> web.Response:
        self.fetches += 1
        keys = [jwks_for(pem)["keys"][0] for pem in self.public_pems]
        return web.json_response({"keys": keys})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/.well-known/jwks.json", self._jwks)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class Keys:
    issuer_private: str
    issuer_public: str
    internal_private: str
    internal_public: str

    def token(self, user: str = "user_1", **claims) -> str:  # type: ignore[no-untyped-def]
        kw = {
            k: claims.pop(k)
            for k in ("admin", "issuer", "ttl_s", "audience", "email", "name")
            if k in claims
        }
        kw.setdefault("issuer", ISSUER)
        return mint_token(self.issuer_private, self.issuer_public, user, **kw)


@dataclass
class GatewayProcess:
    """``python -m folio_gateway serve`` with the given settings."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, log_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FOLIO_", "OTEL_"))}
        env.update({"OTEL_SERVICE_NAME": "gateway", "FOLIO_LOG_FORMAT": "text", **self.env})
        self.log_path = log_dir / f"gateway-{self.port}.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "folio_gateway", "serve", "--port", str(self.port)],
                env=env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def start(self, log_dir: Path) -> GatewayProcess:
        self._spawn(log_dir)
        assert self.process is not None
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(timeout=1) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.url + "/healthz")).status_code == 200:
                        return self
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gateway did not start:\n{self.log()}")
                await asyncio.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""

    def rss_bytes(self) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture(scope="session")
def keys() -> Keys:
    issuer_private, issuer_public = generate_rsa_keypair()
    internal_private, internal_public = generate_ed25519_keypair()
    return Keys(issuer_private, issuer_public, internal_private, internal_public)


@dataclass
class Backends:
    translation: FakeService
    community: FakeService
    users: FakeService
    jwks: JwksServer

    def gateway_env(self, keys: Keys, **overrides: str) -> dict[str, str]:
        env = {
            "FOLIO_UPSTREAM_TRANSLATION_URL": self.translation.url,
            "FOLIO_UPSTREAM_COMMUNITY_URL": self.community.url,
            "FOLIO_UPSTREAM_USERS_URL": self.users.url,
            "FOLIO_UPSTREAM_WORKER_URL": self.users.url,
            "FOLIO_AUTH_JWKS_URL": self.jwks.url,
            "FOLIO_AUTH_ISSUER": ISSUER,
            "FOLIO_AUTH_AUTHORIZED_PARTIES": json.dumps([FRONTEND]),
            "FOLIO_AUTH_JWKS_MIN_REFRESH_S": "1",
            "FOLIO_INTERNAL_TOKEN_PRIVATE_KEY": keys.internal_private,
            "FOLIO_ADMIN_SECRET": "s3cret-admin-value",
            "FOLIO_FRONTEND_ORIGIN": FRONTEND,
            "FOLIO_UPSTREAM_TIMEOUT_S": "2",
            "FOLIO_CIRCUIT_FAILURE_THRESHOLD": "3",
            "FOLIO_CIRCUIT_COOLDOWN_S": "0.5",
            "FOLIO_MAX_BODY_BYTES": str(64 * 1024),
            "FOLIO_MAX_UPLOAD_BYTES": str(128 * 1024 * 1024),
            "FOLIO_RATE_LIMITS": json.dumps({"upload": {"user": "3/minute", "ip": "3/minute"}}),
        }
        env.update(overrides)
        return env


@pytest.fixture(scope="module")
async def backends(keys: Keys) -> AsyncIterator[Backends]:
    services = [
        FakeService(n) for n in ("translation-service", "community-service", "user-service")
    ]
    jwks = JwksServer([keys.issuer_public])
    for service in services:
        await service.start()
    await jwks.start()
    yield Backends(*services, jwks)
    for service in services:
        await service.stop()
    await jwks.stop()


@pytest.fixture(scope="module")
async def gateway_process(
    backends: Backends, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayProcess]:
    process = await GatewayProcess(backends.gateway_env(keys)).start(
        tmp_path_factory.mktemp("gateway")
    )
    yield process
    process.stop()


@pytest.fixture
async def client(gateway_process: GatewayProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_process.url, timeout=10) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
