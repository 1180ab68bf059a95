"""Cost estimates from the plan, before anything is translated.

Token counts are estimated the way most tokenizers land on average (about four bytes of
UTF-8 per token); outputs use the typical length ratio of the pair of scripts (the source
text's, the target language's: ``ratios.py``). The estimate is a budget guide and the basis
of the spending cap, not an invoice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from folio.contracts import GlossaryEntry, NarrativeStyle, PhaseEstimate
from folio_worker.engine.languages import script_of, script_profile, text_script
from folio_worker.engine.prompts import job_prefix
from folio_worker.engine.ratios import bytes_per_char, typical_ratio

ANALYSIS_OUTPUT_TOKENS = 700  # one chunk report, typical
RENDERING_TOKENS_PER_TERM = 14
# A rendering call's prompt: its instructions and schema, and a line per term.
RENDERING_PROMPT_TOKENS = 200
RENDERING_PROMPT_TOKENS_PER_TERM = 17
# What the analysis will add to the prompt prefix, per term it is expected to find: a
# glossary line ("- term => rendering [gender; note]"), and a character (one per four
# terms) with how they speak to two or three others; the style block it writes.
PREFIX_TOKENS_PER_TERM = 15
PREFIX_TOKENS_PER_CHARACTER = 40
PREFIX_STYLE_TOKENS = 100


def tokens(text: str) -> int:
    return max(1, math.ceil(len(text.encode("utf-8")) / 4))


def output_tokens(source: str, target_language: str) -> int:
    source_script = text_script(script_profile(source, sample=4000)) or "latin"
    target_script = script_of(target_language)
    chars = len(source) * typical_ratio(source_script, target_script)
    return max(1, math.ceil(chars * bytes_per_char(target_script) / 4))


def translation_call(prompt: str, source: str, target_language: str) -> PhaseEstimate:
    return PhaseEstimate(
        calls=1, input_tokens=tokens(prompt), output_tokens=output_tokens(source, target_language)
    )


def analysis(
    chunk_prompts: list[str], terms_guess: int, terms_per_batch: int = 24
) -> PhaseEstimate:
    batches = max(1, math.ceil(terms_guess / terms_per_batch)) if terms_guess else 0
    return PhaseEstimate(
        calls=len(chunk_prompts) + batches,
        input_tokens=sum(tokens(p) for p in chunk_prompts)
        + batches * RENDERING_PROMPT_TOKENS
        + terms_guess * RENDERING_PROMPT_TOKENS_PER_TERM,
        output_tokens=len(chunk_prompts) * ANALYSIS_OUTPUT_TOKENS
        + terms_guess * RENDERING_TOKENS_PER_TERM,
    )


def add(a: PhaseEstimate, b: PhaseEstimate) -> PhaseEstimate:
    return PhaseEstimate(
        calls=a.calls + b.calls,
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
    )


def prefix_tokens(
    *,
    target_language: str,
    source_language: str | None,
    style: NarrativeStyle | None,
    glossary: Sequence[GlossaryEntry],
    terms_guess: int,
    analysed: bool,
) -> int:
    """Tokens of the job-constant prompt prefix, before the analysis has run: the real
    instructions with the user's style and glossary, plus what the analysis is expected to
    add (nothing in turbo mode)."""
    known = job_prefix(
        target_language=target_language,
        source_language=source_language,
        style=style or NarrativeStyle(),
        glossary=glossary,
        characters=[],
        turbo=not analysed,
    )
    if not analysed:
        return tokens(known)
    found = max(0, terms_guess - len(glossary))
    return (
        tokens(known)
        + PREFIX_STYLE_TOKENS
        + found * PREFIX_TOKENS_PER_TERM
        + (terms_guess // 4) * PREFIX_TOKENS_PER_CHARACTER
    )
