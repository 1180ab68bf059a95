"""How large a job's model calls should be: many small ones in parallel, or few large ones.

When a provider's latency binds (no requests-per-minute limit, or a generous one), small
calls in parallel finish soonest: a call's time grows with its answer, and the slowest
chain decides. When requests per minute bind (Gemini's free tier allows 15), every call
costs a pacing slot of ``60/rpm`` seconds however small it is, so the same book is done
sooner in fewer, larger calls: whole segments as units, a few large analysis chunks, one
rendering batch for the glossary (the latency-bound plan renders it in batches that fill the
concurrency in one wave, sized once the analysis has found the terms: ``batching.py``).
Both plans are predicted and the faster one is chosen; the choice and the prediction go
into the job's estimate.

The latency-bound plan's unit is decided from the book and the key (``sizing.py``); the
requests-bound one is as large as the segment and the model allow, at most
``LARGE_UNIT_CHARS``. A unit's answer must fit a model's output limit (8192 tokens is the
common floor; a Korean or Japanese rendering costs about 0.4 tokens per source character),
and a chunk is far below any current context window. Analysis chunks hold whole units, so a
chunk grows to a whole number of units rather than halving when units pass half its size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from folio.contracts import CallPlan
from folio_worker.engine.batching import TERMS_PER_BATCH, TermBatching
from folio_worker.engine.estimate import RENDERING_TOKENS_PER_TERM
from folio_worker.engine.sizing import UnitReason, UnitSize

# A call's time, as predicted: time to first token plus decoding at a typical speed.
FIRST_TOKEN_S = 1.0
DECODE_TOKENS_PER_S = 80.0
# The largest call a requests-bound plan makes.
LARGE_UNIT_CHARS = 15_000  # about 6,000 output tokens in CJK targets: below 8,192
LARGE_CHUNK_CHARS = 48_000  # about 12,000 input tokens
LARGE_TERM_BATCH = 120
ANALYSIS_OUTPUT_TOKENS = 1_500
OUTPUT_TOKENS_PER_CHAR = 0.4


@dataclass(frozen=True)
class CallSizes:
    bound: Literal["latency", "requests"]
    unit_size: int
    unit_reason: UnitReason
    chunk_size: int
    terms_per_batch: int
    calls: int
    predicted_s: float
    prefix_tokens: int = 0
    # How the rendering step sizes its batches once the terms are known (terms_per_batch
    # is its size for the guessed count until then).
    batching: TermBatching = field(default_factory=TermBatching)

    def public(self, rpm: int | None) -> CallPlan:
        return CallPlan(
            bound=self.bound,
            requests_per_minute=rpm,
            unit_size=self.unit_size,
            unit_reason=self.unit_reason,
            prefix_tokens=self.prefix_tokens,
            analysis_chunk_size=self.chunk_size,
            terms_per_batch=self.terms_per_batch,
            calls=self.calls,
            predicted_s=round(self.predicted_s, 1),
        )


def terms_guess(book_chars: int) -> int:
    """Glossary terms to expect before the analysis has found them (one per 1,500
    characters, at most 400)."""
    return min(400, book_chars // 1500)


def _call_s(output_tokens: float) -> float:
    return FIRST_TOKEN_S + output_tokens / DECODE_TOKENS_PER_S


def predict(
    book_chars: int,
    *,
    unit_size: int,
    chunk_size: int,
    terms_per_batch: int,
    terms: int,
    analysed: bool,
    rpm: int | None,
    concurrency: int,
    sequential: bool = False,
) -> tuple[int, float]:
    """(calls, seconds) of a plan: the analysis chunks, the rendering batches and the
    translation units, paced at ``60/rpm`` s apart or run ``concurrency`` at a time."""
    units = max(1, math.ceil(book_chars / unit_size))
    chunks = max(1, math.ceil(book_chars / chunk_size)) if analysed else 0
    batches = max(1, math.ceil(terms / terms_per_batch)) if analysed and terms else 0
    calls = units + chunks + batches
    unit_s = _call_s(min(unit_size, book_chars) * OUTPUT_TOKENS_PER_CHAR)
    waves = units if sequential else math.ceil(units / max(1, concurrency))
    chain = waves * unit_s
    if analysed:
        chain += math.ceil(chunks / max(1, concurrency)) * _call_s(ANALYSIS_OUTPUT_TOKENS)
        if batches:
            # a batch's answer grows with its terms (as in the cost estimate)
            answer = min(terms, terms_per_batch) * RENDERING_TOKENS_PER_TERM
            chain += math.ceil(batches / max(1, concurrency)) * _call_s(answer)
    paced = (calls - 1) * 60.0 / rpm + unit_s if rpm else 0.0
    return calls, max(chain, paced)


def analysis_chunk(chunk_size: int, unit_size: int) -> int:
    """A chunk of about ``chunk_size`` that holds a whole number of units (chunks are made
    of whole units: without this, units just over half the chunk would double the chunks)."""
    units = max(1, round(chunk_size / unit_size))
    return max(chunk_size, units * (unit_size + 2))


def choose(
    book_chars: int,
    *,
    small: UnitSize,
    large: UnitSize,
    chunk_size: int,
    analysed: bool,
    rpm: int | None,
    concurrency: int,
    terms_per_batch: int = TERMS_PER_BATCH,
    rendering_concurrency: int | None = None,
    sequential: bool = False,
    prefix_tokens: int = 0,
) -> CallSizes:
    """The faster of the latency-bound plan (``small`` units; rendering batches of at
    most ``terms_per_batch``, as small as fill ``rendering_concurrency``, by default the
    key's, in one wave) and, under a requests-per-minute limit, the requests-bound one
    (``large`` units, at most ``LARGE_UNIT_CHARS``, and large chunks and batches); ties go
    to the smaller calls."""
    terms = terms_guess(book_chars)
    small_unit = min(small.chars, large.chars)
    small_chunk = analysis_chunk(chunk_size, small_unit)
    # Rendering batches that fill the concurrency in one wave; under a requests-per-minute
    # limit also batches of terms_per_batch (each extra call costs a pacing slot).
    batchings = [TermBatching(terms_per_batch, rendering_concurrency or concurrency)]
    if rpm:
        batchings.append(TermBatching(terms_per_batch))

    def latency_plan(batching: TermBatching) -> CallSizes:
        calls, seconds = predict(
            book_chars,
            unit_size=small_unit,
            chunk_size=small_chunk,
            terms_per_batch=batching.size(terms),
            terms=terms,
            analysed=analysed,
            rpm=rpm,
            concurrency=concurrency,
            sequential=sequential,
        )
        return CallSizes(
            "latency",
            small_unit,
            small.reason if small.chars <= large.chars else large.reason,
            small_chunk,
            batching.size(terms),
            calls,
            seconds,
            prefix_tokens,
            batching,
        )

    latency = min(map(latency_plan, batchings), key=lambda plan: plan.predicted_s)
    if not rpm:
        return latency
    large_unit = max(small_unit, min(LARGE_UNIT_CHARS, large.chars))
    large_chunk = analysis_chunk(max(chunk_size, LARGE_CHUNK_CHARS), large_unit)
    large_batch = max(terms_per_batch, LARGE_TERM_BATCH)
    calls, seconds = predict(
        book_chars,
        unit_size=large_unit,
        chunk_size=large_chunk,
        terms_per_batch=large_batch,
        terms=terms,
        analysed=analysed,
        rpm=rpm,
        concurrency=concurrency,
        sequential=sequential,
    )
    requests = CallSizes(
        "requests",
        large_unit,
        "whole_segment",
        large_chunk,
        large_batch,
        calls,
        seconds,
        prefix_tokens,
        TermBatching(large_batch),
    )
    return requests if requests.predicted_s < latency.predicted_s else latency
