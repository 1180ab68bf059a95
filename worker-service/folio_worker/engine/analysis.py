"""The analysis pass: read the whole book once, in parallel chunks, before translating.

Each chunk reports its narration, terms, characters and style deviations (one structured
call per chunk, all chunks at once). The reports are merged into one job-wide context
(``merging.py``);
then the glossary terms get their target renderings, in parallel batches that keep
related names (sharing a word, like "Gregor Samsa" and "Mr. Samsa") in the same batch so
they are rendered consistently. User-supplied style fields and glossary entries always win.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from folio.contracts import GlossaryEntry, JobContext, NarrativeStyle
from folio_worker.engine import progress
from folio_worker.engine.batching import TERMS_PER_BATCH, TermBatching
from folio_worker.engine.calls import ModelCaller, all_or_stop, longest_first
from folio_worker.engine.context import TextIndex, inflects, occurs
from folio_worker.engine.merging import TermVetter, characters, merge_reports, style
from folio_worker.engine.prompts import SAFETY_FRAMES, analysis_prompt, glossary_prompt
from folio_worker.engine.reports import (
    Chunk,
    ChunkAnalysis,
    chunk_units,
    renderings_schema,
)
from folio_worker.engine.segmentation import Unit
from folio_worker.llm import LLMAuthError, LLMError, SafetyBlocked

__all__ = [
    "TERMS_PER_BATCH",
    "AnalysisFailed",
    "AnalysisResult",
    "Chunk",
    "TermBatching",
    "analyse_book",
    "chunk_units",
]

log = logging.getLogger(__name__)

MAX_TERMS = 400
ATTEMPTS = 2  # a failed chunk or glossary batch is asked once more before it is reported
SUMMARY_CHARS = 400  # of one chapter's summary in the context


@dataclass
class AnalysisResult:
    context: JobContext
    deviations: dict[int, str] = field(default_factory=dict)  # unit index -> instruction
    terms_per_batch: int = 0  # the rendering batches' size (0: no term was rendered)


def example_sentence(term: str, text: str, width: int = 90) -> str:
    match = re.search(re.escape(term), text)
    if not match:
        return ""
    start = max(0, match.start() - width // 2)
    return " ".join(text[start : match.end() + width // 2].split())


# ---- the pass ------------------------------------------------------------------------


async def analyse_book(
    units: Sequence[Unit],
    *,
    caller: ModelCaller,
    target_language: str,
    source_language: str | None,
    chunk_size: int,
    batching: TermBatching = TermBatching(),
    concurrency: int,
    user_style: NarrativeStyle | None,
    user_glossary: Sequence[GlossaryEntry],
    glossary_mode: str,
    while_rendering: Callable[[list[str]], object] | None = None,
) -> AnalysisResult:
    """``while_rendering`` runs in a thread while the glossary renderings are awaited,
    with every term and name the context may hold: work that needs them but not their
    renderings (finding where they occur) is then off the critical path. ``batching``:
    how many terms a rendering call gets (the job's plan, ``batching.py``)."""
    book_text = "\n\n".join(u.text for u in units)
    chunks = chunk_units(units, chunk_size)
    limit = asyncio.Semaphore(max(1, concurrency))

    failures: list[str] = []
    warnings: list[str] = []
    unreadable: list[str] = []  # chunks that failed for another reason than a safety block

    prompts = [
        analysis_prompt(
            text=chunk.text, target_language=target_language, source_language=source_language
        )
        for chunk in chunks
    ]
    await caller.look_up([SAFETY_FRAMES[0] + p for p in prompts], ChunkAnalysis)

    async def analyse(prompt: str) -> ChunkAnalysis | str:
        """The chunk's report, or why it could not be had."""
        async with limit:
            # A safety block is answered like in translation: the same text, with the
            # instructions reframed. Refused keys end the analysis (nothing else will work).
            reason = "no answer"
            for frame in SAFETY_FRAMES:
                for _ in range(ATTEMPTS):
                    try:
                        return await caller.structured(frame + prompt, ChunkAnalysis)
                    except SafetyBlocked as exc:
                        failures.append(exc.reason)
                        reason = exc.reason
                        if not exc.rephrasable:
                            return reason  # no frame lifts it
                        break  # the next frame
                    except LLMAuthError:
                        raise
                    except LLMError as exc:
                        # Asked once more; then the chunk is reported, not silently dropped.
                        failures.append(exc.reason)
                        reason = exc.reason
                        log.warning("analysis of a chunk failed: %s", exc.reason)
                else:
                    unreadable.append(reason)
                    return reason
            return reason

    analysed = 0
    vetter: TermVetter | None = None

    async def counted(prompt: str) -> ChunkAnalysis | str:
        nonlocal analysed, vetter
        answer = await analyse(prompt)
        analysed += 1
        if isinstance(answer, ChunkAnalysis):
            # Vetted while the other chunks are still being analysed (the book's index is
            # made with the first answer, not before the calls go out).
            if vetter is None:
                vetter = TermVetter(TextIndex(book_text, inflecting=inflects(source_language)))
            vetter.report(answer)
        await progress.report(analysed, len(prompts), "parts of the book analysed")
        return answer

    answers = await longest_first(lambda i: counted(prompts[i]), [len(c.text) for c in chunks])
    reports = [a if isinstance(a, ChunkAnalysis) else None for a in answers]
    # Only safety blocks: a passage the provider refuses, not a broken provider. The book
    # is translated without the analysed context; the refused passages end up marked.
    if chunks and all(r is None for r in reports) and unreadable:
        detail = f": {failures[-1]}" if failures else ""
        raise AnalysisFailed(f"the model could not analyse any part of the book{detail}")
    for number, (chunk, answer) in enumerate(zip(chunks, answers, strict=True), start=1):
        if isinstance(answer, str):
            warnings.append(
                f"Part {number} of {len(chunks)} of the book (chapter {chunk.units[0].chapter + 1},"
                f' from "{chunk.text[:40].strip()}…") could not be analysed ({answer}): its '
                "names, characters and style notes are missing from the context."
            )
    if vetter is None:
        vetter = TermVetter(TextIndex(book_text, inflecting=inflects(source_language)))
    book = vetter.book
    merged = merge_reports(chunks, reports, book, vetter)

    user_terms = {g.term.casefold(): g for g in user_glossary}
    glossary: dict[str, GlossaryEntry] = dict(user_terms)
    terms_per_batch = 0
    if glossary_mode != "replace":
        candidates = [
            (term, kind) for key, (term, kind) in merged.terms.items() if key not in user_terms
        ]
        candidates.sort(key=lambda tk: -book.frequency(tk[0]))
        candidates = candidates[:MAX_TERMS]
        # Sized now that the candidates are known: in one wave of the concurrency, if the
        # plan is latency-bound.
        size, batches = batching.batches(candidates)
        terms_per_batch = size if batches else 0
        rendering = _render_terms(
            batches,
            caller=caller,
            target_language=target_language,
            book_text=book_text,
            known=list(user_glossary),
            limit=limit,
            warnings=warnings,
        )
        if while_rendering is None:
            rendered = await rendering
        else:
            names = [c["name"] for c in merged.characters.values()]
            words = [t for t, _ in candidates] + [g.term for g in user_glossary] + names
            rendered, _ = await asyncio.gather(rendering, asyncio.to_thread(while_rendering, words))
        for term, kind in candidates:
            if term in rendered:
                glossary.setdefault(
                    term.casefold(),
                    GlossaryEntry(term=term, translation=rendered[term], kind=kind),
                )

    return AnalysisResult(
        context=JobContext(
            style=style(merged, user_style),
            glossary=sorted(glossary.values(), key=lambda g: g.term.casefold()),
            characters=characters(merged, glossary, target_language),
            chapter_summaries={
                chapter: " ".join(parts)[:SUMMARY_CHARS]
                for chapter, parts in sorted(merged.summaries.items())
            },
            warnings=warnings,
        ),
        deviations=merged.deviations,
        terms_per_batch=terms_per_batch,
    )


async def _render_terms(
    batches: Sequence[list[tuple[str, str]]],
    *,
    caller: ModelCaller,
    target_language: str,
    book_text: str,
    known: Sequence[GlossaryEntry],
    limit: asyncio.Semaphore,
    warnings: list[str],
) -> dict[str, str]:
    async def render(batch: list[tuple[str, str]]) -> dict[str, str]:
        terms = [t for t, _ in batch]
        prompt = glossary_prompt(
            terms=[(t, k, example_sentence(t, book_text)) for t, k in batch],
            target_language=target_language,
            known=[g for g in known if any(occurs(w, " ".join(terms)) for w in g.term.split())],
        )
        reason = "no answer"
        async with limit:
            for _ in range(ATTEMPTS):
                try:
                    answer = await caller.structured(prompt, renderings_schema(terms))
                    break
                except LLMAuthError:
                    raise
                except LLMError as exc:
                    reason = exc.reason
                    log.warning("glossary rendering failed for a batch: %s", exc)
            else:
                shown = ", ".join(terms[:6]) + (", …" if len(terms) > 6 else "")
                warnings.append(
                    f"The glossary renderings of {len(terms)} terms ({shown}) could not be "
                    f"made ({reason}): they are translated without a fixed rendering."
                )
                return {}
        return {
            item.term: item.translation.strip()  # type: ignore[attr-defined]
            for item in answer.translations  # type: ignore[attr-defined]
            if item.translation.strip()  # type: ignore[attr-defined]
        }

    results = await all_or_stop(render(b) for b in batches)
    rendered: dict[str, str] = {}
    for result in results:
        rendered.update(result)
    return rendered


class AnalysisFailed(Exception):
    pass
