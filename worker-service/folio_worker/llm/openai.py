"""OpenAI-compatible chat completions (OpenAI, OpenRouter, vLLM, Ollama, llama.cpp, fake)."""

from __future__ import annotations

import asyncio
import logging
import random

import httpx

from folio.contracts import TokenUsage
from folio_worker.llm.base import Completion, LLMError, PermanentLLMError

log = logging.getLogger(__name__)


class OpenAICompatibleClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout_s: float = 300.0,
        max_attempts: int = 4,
    ) -> None:
        self.http = http
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key
        self.model = model
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts

    async def complete(self, prompt: str) -> Completion:
        last_error: Exception | None = None
        for attempt in range(self.max_attempts):
            try:
                return await self._call(prompt)
            except PermanentLLMError:
                raise
            except LLMError as exc:
                last_error = exc
                delay = getattr(exc, "retry_after", None) or min(30.0, 0.5 * 2**attempt)
                delay *= 1 + random.random() * 0.25  # noqa: S311 - jitter, not crypto
                log.warning("model call failed (%s); retry %d in %.1fs", exc, attempt + 1, delay)
                await asyncio.sleep(delay)
        raise LLMError(f"model call failed after {self.max_attempts} attempts: {last_error}")

    async def _call(self, prompt: str) -> Completion:
        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}]}
        try:
            response = await self.http.post(
                self.url,
                json=body,
                headers={"Authorization": f"Bearer {self.api_key}"},
                timeout=self.timeout_s,
            )
        except httpx.TimeoutException as exc:
            raise LLMError("the model did not answer in time") from exc
        except httpx.TransportError as exc:
            raise LLMError(f"cannot reach the model: {type(exc).__name__}") from exc
        if response.status_code in (401, 403, 404):
            raise PermanentLLMError(f"provider refused the request ({response.status_code})")
        if response.status_code == 429 or response.status_code >= 500:
            error = LLMError(f"provider answered {response.status_code}")
            retry_after = response.headers.get("retry-after")
            if retry_after and retry_after.replace(".", "", 1).isdigit():
                error.retry_after = float(retry_after)  # type: ignore[attr-defined]
            raise error
        if response.status_code >= 400:
            raise PermanentLLMError(f"provider rejected the request ({response.status_code})")
        data = response.json()
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        details = usage.get("completion_tokens_details") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            finish_reason=choice.get("finish_reason") or "stop",
            model=data.get("model") or self.model,
            usage=TokenUsage(
                calls=1,
                input_tokens=usage.get("prompt_tokens", 0),
                output_tokens=usage.get("completion_tokens", 0),
                thinking_tokens=details.get("reasoning_tokens", 0) or 0,
            ),
        )
