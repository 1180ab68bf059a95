"""Structured JSON logs carrying the trace, span and request ids.

One log line per event, machine-readable, so logs from every service can be joined with
traces by ``trace_id`` and with the client's request by ``request_id``.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "folio_request_id", default=None
)

# Defence in depth: whatever a library decides to log, bearer tokens, API keys and URL
# passwords never reach the log stream.
_SECRET_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1[redacted]"),
    (
        re.compile(
            r"(?i)((?:api[_-]?key|x-goog-api-key|key|token|password|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]{6,}"
        ),
        r"\1[redacted]",
    ),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1[redacted]@"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), "[redacted]"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), "[redacted]"),
]


def redact(text: str) -> str:
    """Remove credentials from a piece of text before it is logged or stored."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class _ContextFilter(logging.Filter):
    """Adds trace/span/request ids and the service name; redacts secrets."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name

    def filter(self, record: logging.LogRecord) -> bool:
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = format(span_context.trace_id, "032x")
            record.span_id = format(span_context.span_id, "016x")
        record.request_id = request_id_var.get()
        record.service = self.service_name
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def configure_logging(service_name: str, level: str = "INFO", fmt: str = "json") -> None:
    """Route every logger (ours, uvicorn's, FastStream's) through one JSON handler."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(service)s] %(name)s: %(message)s")
        )
    handler.addFilter(_ContextFilter(service_name))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "faststream.access"):
        lib_logger = logging.getLogger(name)
        lib_logger.handlers = []
        lib_logger.propagate = True
    # Per-request access lines come from our middleware (with ids); uvicorn's are noise.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # httpx logs full URLs at INFO; some providers put keys in query strings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
