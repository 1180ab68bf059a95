"""Latency model: ``base_ms + per_char_ms * len(output)``, slept asynchronously.

Benchmarks of a concurrent translation pipeline need a provider whose response time grows
with output length but which never serialises requests: ``asyncio.sleep`` keeps the event
loop free, so hundreds of requests overlap exactly as against a real remote API.
"""

from __future__ import annotations

import asyncio

from folio_fakellm.settings import FakeLLMSettings


def delay_seconds(settings: FakeLLMSettings, output_chars: int) -> float:
    """Modelled latency in seconds for an answer of ``output_chars`` characters."""
    ms = settings.latency_base_ms + settings.latency_per_char_ms * max(0, output_chars)
    return max(0.0, ms) / 1000.0


async def sleep_for(seconds: float) -> None:
    """Non-blocking sleep; a no-op for zero so fast tests stay fast."""
    if seconds > 0:
        await asyncio.sleep(seconds)
