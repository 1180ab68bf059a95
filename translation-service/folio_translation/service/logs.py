"""A job's logs as the upstream frontend downloads them (``/jobs/{id}/logs/{kind}``):

* ``context``: the job-wide context the analysis produced (style, glossary, characters)
  and, segment by segment, the part of it each segment was translated with;
* ``prompts``: segment by segment, what each model call of the translation was given: the
  unit's text and its context (terms, characters, style notes, neighbouring text).

Both are read from the job's row and the worker's stored plan (``JobPlan``, a versioned
contract), written as plain text as they are read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import JobPlan, SegmentContext
from folio.errors import NotReady
from folio.identity import Identity
from folio.storage import BlobStorage, StorageError
from folio_translation.models import Job
from folio_translation.repository import JobRepository
from folio_translation.service.access import visible_job
from folio_translation.service.outputs import Download

LogKind = Literal["prompts", "context"]


def _context_lines(context: SegmentContext) -> list[str]:
    lines = [f"  term: {g.term} -> {g.translation}" for g in context.glossary]
    for c in context.characters:
        name = f"{c.name} -> {c.translation}" if c.translation else c.name
        lines.append(f"  character: {name} ({c.gender})")
    lines += [f"  style note (unit {u}): {note}" for u, note in context.deviations.items()]
    return lines


class LogService:
    def __init__(self, session: AsyncSession, storage: BlobStorage) -> None:
        self.storage = storage
        self.jobs = JobRepository(session)

    async def log(self, identity: Identity, job_id: int, kind: LogKind) -> Download:
        job = await visible_job(self.jobs, identity, job_id)
        if job.plan_key is None:
            raise NotReady(f"The job has no {kind} log yet: the book is not planned.")
        try:
            plan = JobPlan.load(await self.storage.read_bytes(job.plan_key))
        except (StorageError, ValueError) as exc:
            raise NotReady(f"The job's {kind} log is no longer available.") from exc
        lines = self._prompts(plan) if kind == "prompts" else self._context(job, plan)
        stem = job.filename.rsplit(".", 1)[0] if "." in job.filename else job.filename
        return Download(f"{kind}_job_{job.id}_{stem}.txt", "text/plain; charset=utf-8", lines)

    async def _context(self, job: Job, plan: JobPlan) -> AsyncIterator[bytes]:
        context = job.context or {}
        style = context.get("style") or {}
        yield f"# Job {job.id}: {job.filename}\n\n## Narrative style\n".encode()
        for key, value in style.items():
            if value:
                yield f"  {key}: {value}\n".encode()
        yield b"\n## Glossary\n"
        for g in context.get("glossary") or []:
            yield f"  {g['term']} -> {g['translation']}\n".encode()
        yield b"\n## Characters\n"
        for c in context.get("characters") or []:
            yield f"  {c.get('name')} -> {c.get('translation') or ''}\n".encode()
        for index in sorted(plan.segments):
            lines = _context_lines(plan.segments[index].context)
            yield (f"\n## Segment {index}\n" + "\n".join(lines) + "\n").encode()

    async def _prompts(self, plan: JobPlan) -> AsyncIterator[bytes]:
        for index in sorted(plan.segments):
            segment = plan.segments[index]
            context = "\n".join(_context_lines(segment.context))
            for unit in segment.units:
                yield (
                    f"===== segment {index}, unit {unit.index} =====\n"
                    f"[context]\n{context}\n"
                    f"[previous source]\n{segment.context.previous_source[-300:]}\n"
                    f"[text]\n{unit.text}\n\n"
                ).encode()
