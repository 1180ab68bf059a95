"""The gateway's HTTP API as the commands use it: every failure becomes a :class:`CliError`
carrying the problem's ``detail`` and an exit code."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import unquote

import httpx

from folio_cli.errors import CliError, ExitCode, code_for_status

API = "/api/v1"
EXTENDED_NAME = re.compile(r"filename\*\s*=\s*([\w-]*)'[^']*'([^;\s]+)", re.I)
RETRYABLE_STATUSES = (429, 502, 503, 504)
MAX_RETRY_AFTER_S = 30.0
SUBMIT_ATTEMPTS = 4


def problem_detail(response: httpx.Response) -> str:
    """The one line a failed response is reported as: its problem ``detail``."""
    detail = None
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict):
            detail = body.get("detail") or body.get("title")
    if not isinstance(detail, str) or not detail.strip():
        detail = response.reason_phrase or "request failed"
    return f"{' '.join(detail.split())} (HTTP {response.status_code})"


def check(response: httpx.Response) -> httpx.Response:
    if response.is_success:
        return response
    if response.is_stream_consumed is False:
        response.read()
    raise CliError(problem_detail(response), code_for_status(response.status_code))


def unreachable(url: str, exc: Exception) -> CliError:
    reason = type(exc).__name__ if not str(exc) else str(exc)
    return CliError(f"cannot reach the gateway at {url}: {reason}", ExitCode.UNREACHABLE)


def attachment_name(response: httpx.Response, fallback: str) -> str:
    """The file name a download offers (RFC 6266, ``filename*`` preferred), reduced to a
    bare name: a server cannot make us write outside the output folder."""
    header = response.headers.get("content-disposition", "")
    extended = EXTENDED_NAME.search(header)
    if extended:  # RFC 5987: charset''percent-encoded (the plain name is its ASCII fallback)
        charset = extended.group(1) or "utf-8"
        try:
            name = unquote(extended.group(2), encoding=charset, errors="replace")
        except LookupError:  # a charset Python does not know
            name = unquote(extended.group(2), errors="replace")
    else:
        message = Message()
        message["content-disposition"] = header
        name = message.get_filename() or fallback
    name = PurePosixPath(name.replace("\\", "/")).name.strip()
    return name if name not in ("", ".", "..") else fallback


class Gateway:
    def __init__(self, url: str, token: str, *, timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "folio-cli"},
            timeout=httpx.Timeout(timeout_s, connect=10.0),
        )

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return check(self.client.request(method, f"{API}{path}", **kwargs))
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    # ---- jobs ---------------------------------------------------------------------------

    def submit(
        self,
        book: Path,
        fields: dict[str, str],
        idempotency_key: str,
        extra_files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        """Uploads the book. A dropped connection or an unavailable gateway is retried with
        the same ``Idempotency-Key``, so however many attempts it takes, one job is made."""
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            try:
                with book.open("rb") as handle:
                    response = self.client.post(
                        f"{API}/jobs",
                        files={
                            "file": (book.name, handle, _media_type(book)),
                            **(extra_files or {}),
                        },
                        data=fields,
                        headers={"Idempotency-Key": idempotency_key},
                    )
            except httpx.TransportError as exc:
                if attempt == SUBMIT_ATTEMPTS:
                    raise unreachable(self.url, exc) from None
            else:
                if response.status_code not in RETRYABLE_STATUSES or attempt == SUBMIT_ATTEMPTS:
                    return check(response).json()
                wait = _retry_after(response)
                if wait is not None:
                    time.sleep(wait)
                    continue
            time.sleep(min(2.0**attempt, 10.0))
        raise AssertionError("unreachable")  # the loop returns or raises

    def jobs(self, skip: int, limit: int) -> list[dict[str, Any]]:
        return self.json("GET", "/jobs", params={"skip": skip, "limit": limit})

    def job(self, job_id: int) -> dict[str, Any]:
        return self.json("GET", f"/jobs/{job_id}")

    def cancel(self, job_id: int) -> dict[str, Any]:
        return self.json("POST", f"/jobs/{job_id}/cancel")

    def resume(self, job_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.json("POST", f"/jobs/{job_id}/resume", json=body)

    def retranslate(self, job_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return self.json("POST", f"/jobs/{job_id}/segments/retranslate", json=body)

    def delete(self, job_id: int) -> None:
        self.request("DELETE", f"/jobs/{job_id}")

    @contextlib.contextmanager
    def stream(self, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        try:
            with self.client.stream("GET", f"{API}{path}", **kwargs) as response:
                check(response)
                yield response
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None

    def download(self, job_id: int, fmt: str | None, out_dir: Path) -> Path:
        """Streams one output of the job into ``out_dir`` under the name the server offers
        (written to a temporary name first: an interrupted download leaves no partial file
        under the real name)."""
        if fmt == "pdf":
            path, params, fallback = f"/jobs/{job_id}/pdf", {}, f"{job_id}.pdf"
        else:
            path, params = f"/download/{job_id}", ({"format": fmt} if fmt else {})
            fallback = f"{job_id}_{fmt or 'translated'}"
        out_dir.mkdir(parents=True, exist_ok=True)
        with self.stream(path, params=params, timeout=httpx.Timeout(300.0, connect=10.0)) as r:
            target = out_dir / attachment_name(r, fallback)
            partial = target.with_name(f".{target.name}.part")
            try:
                with partial.open("wb") as out:
                    _copy(r, out)
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)
        return target


def _retry_after(response: httpx.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for (in seconds; capped), if any."""
    value = response.headers.get("retry-after", "").strip()
    if not value.isdigit():
        return None
    return min(float(value), MAX_RETRY_AFTER_S)


def _copy(response: httpx.Response, out: IO[bytes]) -> None:
    for chunk in response.iter_bytes(256 * 1024):
        out.write(chunk)


def _media_type(book: Path) -> str:
    return {
        ".txt": "text/plain",
        ".md": "text/markdown",
        ".epub": "application/epub+zip",
        ".pdf": "application/pdf",
        ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    }.get(book.suffix.lower(), "application/octet-stream")
