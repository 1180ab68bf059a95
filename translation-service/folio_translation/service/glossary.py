"""A job's glossary: read it (raw ``{term: translation}`` or structured), edit it after the
translation (merge or replace).

Its one home is the job's context (``jobs.context.glossary``). The plan holds each
segment's slice of the glossary as planned, so an edit is also stored as a
``JobGlossary`` blob whose key every later segment command cites: a re-translation takes
its terms from the edit, not from the plan.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import Character, GlossaryEntry, JobGlossary
from folio.errors import InvalidInput, NotReady
from folio.identity import Identity
from folio_translation.models import Job, JobStatus
from folio_translation.repository import JobRepository
from folio_translation.schemas import GlossaryResponse, TranslatedTerm, TranslatedTerms
from folio_translation.service.access import visible_job
from folio_translation.service.deps import JobDeps

EDITABLE = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


def entries_of(job: Job) -> list[GlossaryEntry]:
    return [GlossaryEntry.model_validate(g) for g in (job.context or {}).get("glossary") or []]


def characters_of(job: Job) -> list[Character]:
    return [Character.model_validate(c) for c in (job.context or {}).get("characters") or []]


def structured(entries: list[GlossaryEntry], characters: list[Character] = ()) -> GlossaryResponse:
    return GlossaryResponse(
        glossary=[{"term": e.term, "translation": e.translation} for e in entries],
        translated_terms=TranslatedTerms(
            translations=[TranslatedTerm(source=e.term, korean=e.translation) for e in entries]
        ),
        terms=entries,
        do_not_translate=[e.term for e in entries if e.do_not_translate],
        characters=list(characters),
    )


def raw(entries: list[GlossaryEntry]) -> dict[str, str]:
    return {e.term: e.translation for e in entries}


class GlossaryService:
    def __init__(self, session: AsyncSession, deps: JobDeps) -> None:
        self.session = session
        self.deps = deps
        self.jobs = JobRepository(session)

    async def read(self, identity: Identity, job_id: int) -> tuple[Job, list[GlossaryEntry]]:
        job = await visible_job(self.jobs, identity, job_id)
        if job.context is None:
            raise NotReady(
                f"Glossary is available only once the book is analysed. "
                f"Current status: {job.status}"
            )
        return job, entries_of(job)

    async def update(
        self, identity: Identity, job_id: int, incoming: list[GlossaryEntry], mode: str
    ) -> tuple[Job, list[GlossaryEntry]]:
        if mode not in ("merge", "replace"):
            raise InvalidInput(f"Invalid glossary mode {mode!r}: use merge or replace.")
        await visible_job(self.jobs, identity, job_id)
        job = await self.jobs.get_for_update(job_id)
        assert job is not None and job.id is not None
        if job.status not in EDITABLE:
            raise NotReady(
                "Glossary can be updated only after translation completes or fails. "
                f"Current status: {job.status}"
            )
        merged: dict[str, GlossaryEntry] = (
            {} if mode == "replace" else {e.term: e for e in entries_of(job)}
        )
        for entry in incoming:  # the new values win
            merged[entry.term] = entry
        entries = list(merged.values())
        job.context = {
            **(job.context or {}),
            "glossary": [e.model_dump(mode="json") for e in entries],
        }
        glossary = JobGlossary(job_id=job.id, entries=entries)
        digest = glossary.digest()
        # One blob per version: commands in flight still find the version they cite.
        blob = await self.deps.storage.put_bytes(
            f"jobs/{job.id}/glossary", glossary.dump(), name=f"{digest[:32]}.json"
        )
        job.glossary_key, job.glossary_digest = blob.key, digest
        self.session.add(job)
        return job, entries
