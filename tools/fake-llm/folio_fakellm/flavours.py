"""OpenAI-compatible servers as each really answers, chosen per request by a path prefix.

A client pointed at ``<fake>/flavour/<name>/v1`` talks to the fake as it would to that
server: ``/flavour/llama-cpp-python/v1/chat/completions`` answers like llama-cpp-python's
server. Without a prefix the fake answers like OpenAI. Azure OpenAI needs no prefix: its
paths (``/openai/deployments/{name}/chat/completions?api-version=…``) are its own.

What differs, per server (each from its documentation or source):

* ``json_schema``: llama-cpp-python validates ``response_format.type`` as
  ``Literal["text", "json_object"]`` and answers the validation error as HTTP 500
  ``internal_server_error`` (its error handler wraps every exception); it enforces
  ``response_format.schema`` under ``json_object`` and otherwise ignores what the prompt
  says. The others enforce ``json_schema``.
* reasoning: OpenAI and Azure hide it and count ``completion_tokens_details.
  reasoning_tokens`` inside ``completion_tokens``; OpenRouter returns it in ``reasoning``;
  llama-server in ``reasoning_content``; vLLM without a reasoning parser, Ollama and
  llama-cpp-python write ``<think>…</think>`` into the content; Mistral sends the content
  as a list of ``thinking`` and ``text`` parts.
* usage: OpenAI, Azure, OpenRouter and llama-server report
  ``prompt_tokens_details.cached_tokens``; the others only the three totals.
* errors: OpenAI's ``{"error": {message, type, param, code}}``; vLLM's older top-level
  ``{"object": "error", message, type, param, code}``; llama-server's
  ``{"error": {code, message, type}}`` (``exceed_context_size_error`` with ``n_prompt_tokens``
  and ``n_ctx`` beyond its context); OpenRouter's ``{"error": {code, message, metadata}}``
  with 403 for moderation and 402 for credits; Azure's string codes and
  ``innererror.code = ResponsibleAIPolicyViolation`` for its content filter.
* Ollama (``system_fingerprint: "fp_ollama"``) keeps only its context window
  (``FAKE_LLM_OLLAMA_NUM_CTX``, 2048 by default) of a longer prompt, silently.
* Local servers (llama.cpp, llama-cpp-python, Ollama, vLLM) accept any key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from starlette.types import ASGIApp, Receive, Scope, Send

Reasoning = Literal["hidden", "inline", "reasoning", "reasoning_content", "parts"]
ErrorShape = Literal["openai", "vllm", "llama-server", "openrouter", "azure"]


@dataclass(frozen=True)
class Flavour:
    name: str
    json_schema: Literal["enforced", "500"] = "enforced"
    reasoning: Reasoning = "inline"
    reasoning_tokens_reported: bool = False
    cached_tokens_reported: bool = False
    errors: ErrorShape = "openai"
    fingerprint: str | None = None
    checks_keys: bool = True
    truncates_prompt: bool = False  # Ollama: keeps the last num_ctx tokens, says nothing
    rejects_long_prompt: bool = False  # vLLM, llama-server: 400 beyond the context window
    routes_without_require_parameters: bool = False  # OpenRouter


FLAVOURS: dict[str, Flavour] = {
    flavour.name: flavour
    for flavour in (
        Flavour(
            "openai",
            reasoning="hidden",
            reasoning_tokens_reported=True,
            cached_tokens_reported=True,
            fingerprint="fp_fake",
        ),
        Flavour(
            "azure",
            reasoning="hidden",
            reasoning_tokens_reported=True,
            cached_tokens_reported=True,
            errors="azure",
        ),
        Flavour(
            "openrouter",
            reasoning="reasoning",
            reasoning_tokens_reported=True,
            cached_tokens_reported=True,
            errors="openrouter",
            routes_without_require_parameters=True,
        ),
        Flavour("vllm", errors="vllm", checks_keys=False, rejects_long_prompt=True),
        Flavour(
            "llama-server",
            reasoning="reasoning_content",
            cached_tokens_reported=True,
            errors="llama-server",
            checks_keys=False,
            rejects_long_prompt=True,
        ),
        Flavour("llama-cpp-python", json_schema="500", checks_keys=False),
        Flavour("ollama", fingerprint="fp_ollama", checks_keys=False, truncates_prompt=True),
        Flavour("mistral", reasoning="parts"),
    )
}
DEFAULT = FLAVOURS["openai"]
_PREFIX = "/flavour/"


def flavour_of(scope: Scope) -> Flavour:
    name = scope.get("fake_flavour")
    return FLAVOURS.get(name, DEFAULT) if isinstance(name, str) else DEFAULT


class FlavourPrefix:
    """ASGI middleware: ``/flavour/<name>/rest`` → ``/rest`` with the flavour noted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(_PREFIX):
            name, _, rest = path[len(_PREFIX) :].partition("/")
            if name in FLAVOURS:
                scope = {**scope, "path": "/" + rest, "raw_path": ("/" + rest).encode()}
                scope["fake_flavour"] = name
        await self.app(scope, receive, send)


def llama_cpp_python_validation_message(kind: Any) -> str:
    """The text of the pydantic ValidationError llama-cpp-python answers with status 500."""
    return (
        "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        "'msg': \"Input should be 'text' or 'json_object'\", "
        f"'input': {kind!r}, 'ctx': {{'expected': \"'text' or 'json_object'\"}}}}]"
    )
