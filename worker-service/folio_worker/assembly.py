"""``AssembleJob``: build the output files from translation-service's snapshot of the
translations and the job's plan (which says where each unit's translation goes)."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

from folio.contracts import (
    OUTPUT_FILES,
    AssembleJob,
    AssemblySnapshot,
    Event,
    JobAssembled,
    JobAssemblyFailed,
    JobPlan,
    OutputKind,
    PlannedUnit,
)
from folio.messaging import Delivery
from folio.storage import StorageError
from folio_worker.books import document_fingerprint, read_book
from folio_worker.deps import WorkerDeps
from folio_worker.engine.checks import split_paragraphs
from folio_worker.engine.documents import DocumentError
from folio_worker.engine.languages import code_of, word_joiner
from folio_worker.outcomes import gave_up, last_attempt, publish_outcome
from folio_worker.plans import PlanUnavailable


class Assembler:
    def __init__(self, deps: WorkerDeps) -> None:
        self.deps = deps

    async def assemble_job(self, command: AssembleJob, delivery: Delivery) -> Event | None:
        if await self.deps.control.is_cancelled(command.job_id):
            return None  # a cancelled (or deleted) job gets no output files
        try:
            outputs = await self._assemble(command)
            event: JobAssembled | JobAssemblyFailed = JobAssembled(
                job_id=command.job_id, outputs=outputs
            )
        except (DocumentError, StorageError, PlanUnavailable, ValueError) as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            event = JobAssemblyFailed(job_id=command.job_id, reason=reason)
        except Exception as exc:
            if not last_attempt(delivery):
                raise
            event = JobAssemblyFailed(job_id=command.job_id, reason=gave_up("assembling", exc))
        await publish_outcome(self.deps.publisher, event, delivery, "assembled")
        return event

    async def _translations(self, command: AssembleJob) -> tuple[AssemblySnapshot, JobPlan]:
        snapshot = AssemblySnapshot.load(
            await self.deps.storage.read_bytes(command.translations_key)
        )
        return snapshot, await self.deps.plans.load(snapshot.plan_key)

    async def _assemble(self, command: AssembleJob) -> dict[str, str]:
        storage = self.deps.storage
        # The book is read while the snapshot and the plan are: the job's COMPLETED waits
        # on this (either failing fails the assembly, as before).
        (snapshot, plan), (original, document) = await asyncio.gather(
            self._translations(command),
            read_book(storage, self.deps.documents, command.upload_key, command.filename),
        )
        if (
            command.document_fingerprint
            and document_fingerprint(document) != command.document_fingerprint
        ):
            raise ValueError("the book no longer reads as it did when it was planned")
        files = await self.deps.documents.build(
            original,
            document,
            block_translations(
                translated_units(snapshot, plan), joiner=word_joiner(command.target_language)
            ),
            target_language=code_of(command.target_language),
            bilingual=command.bilingual,
            colophon=colophon(command) if command.colophon else None,
            vertical=command.vertical,
            labels=plan.labels,
        )
        files[OutputKind.SEGMENTS] = json.dumps(
            [
                {
                    "segment_index": s.index,
                    "chapter_index": s.chapter_index,
                    "chapter_title": s.chapter_title,
                    "source_text": s.source_text,
                    "translated_text": s.translated_text,
                    # Units kept in the source language (marked in translated_text).
                    "failed": bool(s.unit_failures),
                    "unit_failures": [f.model_dump(mode="json") for f in s.unit_failures],
                }
                for s in snapshot.segments
            ],
            ensure_ascii=False,
            indent=1,
        ).encode()
        files[OutputKind.GLOSSARY] = json.dumps(
            {g.term: g.translation for g in snapshot.glossary}, ensure_ascii=False, indent=1
        ).encode()
        # Every file is stored before JobAssembled names them, written side by side.
        blobs = await asyncio.gather(
            *(
                storage.put_bytes(
                    f"jobs/{command.job_id}/output",
                    content,
                    name=OUTPUT_FILES[OutputKind(kind)].suffix,
                )
                for kind, content in files.items()
            )
        )
        return {kind: blob.key for kind, blob in zip(files, blobs, strict=True)}


def colophon(command: AssembleJob) -> str:
    """What the output's metadata says about how it was made."""
    day = datetime.now(UTC).date().isoformat()
    return f"Machine translation ({code_of(command.target_language)}): {command.model}, {day}"


def translated_units(
    snapshot: AssemblySnapshot, plan: JobPlan
) -> Iterable[tuple[PlannedUnit, str]]:
    """Each translated unit of the plan with its translation (untranslated ones are left
    out: their blocks keep the source)."""
    for segment in snapshot.segments:
        entry = plan.segments.get(segment.index)
        if entry is None:
            raise PlanUnavailable(f"the job's plan has no segment {segment.index}")
        yield from zip(entry.units, segment.unit_translations, strict=False)


def block_translations(units: Iterable[tuple[PlannedUnit, str]], *, joiner: str) -> dict[int, str]:
    """Per-block translations from the per-unit ones: paragraph k of a unit's translation
    belongs to its k-th block (the translator aligned them by id)."""
    parts: dict[int, list[str]] = defaultdict(list)
    for unit, translation in units:
        blocks: list[int] = []
        for piece in unit.pieces:
            if not blocks or blocks[-1] != piece.block:
                blocks.append(piece.block)
        fitted = _fit(split_paragraphs(translation), len(blocks))
        for block, paragraph in zip(blocks, fitted, strict=True):
            if paragraph:
                parts[block].append(paragraph)
    return {block: joiner.join(texts) for block, texts in parts.items() if texts}


def _fit(paragraphs: list[str], blocks: int) -> list[str]:
    """``paragraphs`` as exactly ``blocks`` entries. Translations stored by an engine that
    aligned paragraphs by counting blank lines may not match: extra paragraphs join the last
    block, and blocks without a paragraph get none (they keep their source), so no block is
    ever emptied and no text lands in a heading that was not its own."""
    if len(paragraphs) > blocks:
        return [*paragraphs[: blocks - 1], "\n".join(paragraphs[blocks - 1 :])]
    return paragraphs + [""] * (blocks - len(paragraphs))
