"""Cost estimates from the plan, before anything is translated.

Token counts are estimated the way most tokenizers land on average (about four bytes of
UTF-8 per token); outputs use the expected length ratio of the target language. The
estimate is a budget guide and the basis of the spending cap, not an invoice.
"""

from __future__ import annotations

import math

from folio.contracts import PhaseEstimate
from folio_worker.engine.languages import code_of

# Translated characters per source character, and UTF-8 bytes per translated character.
OUTPUT_CHARS = {"ko": 0.5, "ja": 0.55, "zh": 0.35}
OUTPUT_BYTES_PER_CHAR = {"ko": 3.0, "ja": 3.0, "zh": 3.0}
ANALYSIS_OUTPUT_TOKENS = 700  # one chunk report, typical
RENDERING_TOKENS_PER_TERM = 14


def tokens(text: str) -> int:
    return max(1, math.ceil(len(text.encode("utf-8")) / 4))


def output_tokens(source: str, target_language: str) -> int:
    target = code_of(target_language)
    chars = len(source) * OUTPUT_CHARS.get(target, 1.1)
    return max(1, math.ceil(chars * OUTPUT_BYTES_PER_CHAR.get(target, 1.1) / 4))


def translation_call(prompt: str, source: str, target_language: str) -> PhaseEstimate:
    return PhaseEstimate(
        calls=1, input_tokens=tokens(prompt), output_tokens=output_tokens(source, target_language)
    )


def analysis(chunk_prompts: list[str], terms_guess: int) -> PhaseEstimate:
    batches = max(1, math.ceil(terms_guess / 24)) if terms_guess else 0
    return PhaseEstimate(
        calls=len(chunk_prompts) + batches,
        input_tokens=sum(tokens(p) for p in chunk_prompts) + batches * 600,
        output_tokens=len(chunk_prompts) * ANALYSIS_OUTPUT_TOKENS
        + terms_guess * RENDERING_TOKENS_PER_TERM,
    )


def add(a: PhaseEstimate, b: PhaseEstimate) -> PhaseEstimate:
    return PhaseEstimate(
        calls=a.calls + b.calls,
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
    )
