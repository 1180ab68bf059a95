"""A real HTTP server on a free port, answering the CLI as the test scripts it (statuses,
problem+json bodies, event streams cut short, downloads) and recording every request.

The client's behaviour against the real stack is tested end to end in ``tests/e2e``; here
each answer a gateway can give is produced on purpose, including the rare ones."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes | Callable[[Any], None] = b"{}"  # a callable writes to the handler itself
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})


def answer_json(value: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(value).encode())


def problem(status: int, detail: str) -> Answer:
    body = {"type": "about:blank", "title": "x", "status": status, "detail": detail}
    return Answer(status, json.dumps(body).encode(), {"content-type": "application/problem+json"})


class Server:
    """Routes are ``(method, path)`` to a list of answers, given in turn (the last repeats)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                server.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                answers = server.routes.get((self.command, path))
                if not answers:
                    answer = problem(404, "Job not found")
                else:
                    answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if callable(answer.body):
                    answer.body(self)
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.routes[(method, f"/api/v1{path}")] = list(answers)

    def requests_to(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path.startswith(f"/api/v1{path}")]


def event_stream(*frames: str, end: str = "close") -> Callable[[Any], None]:
    """An event stream that sends ``frames`` and then closes the connection (as a dropped
    stream looks to the client: the body just ends, with no final job)."""

    def write(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("connection", "close")
        handler.end_headers()
        handler.wfile.write(b"retry: 10\n\n")
        for frame in frames:
            handler.wfile.write(frame.encode())
            handler.wfile.flush()
        handler.close_connection = True

    return write


def sse(kind: str, seq: int, data: dict[str, Any]) -> str:
    return f"id: {seq}\nevent: {kind}\ndata: {json.dumps(data)}\n\n"


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    thread = threading.Thread(target=running.httpd.serve_forever, daemon=True)
    thread.start()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


@pytest.fixture
def folio(server: Server, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Runs ``folio ARGS`` in process against the server (token and URL from the
    environment, as a user would set them)."""
    from folio_cli.main import app

    for name in ("FOLIO_API_KEY", "FOLIO_BACKUP_API_KEYS", "FOLIO_TOKEN", "FOLIO_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, token: str | None = "tok", env: dict[str, str] | None = None, **kw: Any):
        environment = {"FOLIO_URL": server.url, **(env or {})}
        if token is not None:
            environment["FOLIO_TOKEN"] = token
        return CliRunner().invoke(app, list(args), env=environment, **kw)

    return run
