"""Queries of the ``segments`` table."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, null, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import AssemblySegment, PlannedSegment, UnitFailure
from folio_translation.models import Job, Segment, SegmentStatus


class SegmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, job_id: int, segments: Sequence[PlannedSegment]) -> None:
        if not segments:
            return
        await self.session.execute(
            insert(Segment.__table__),  # type: ignore[arg-type]  # Core: no ORM bulk cost
            [
                {
                    "job_id": job_id,
                    "index": s.index,
                    "source_text": s.source_text,
                    "status": SegmentStatus.PENDING,
                    "chapter_index": s.chapter_index,
                    "chapter_title": s.chapter_title,
                    "unit_count": s.unit_count,
                    "estimated_tokens": s.estimated_tokens,
                    "digest": s.digest,
                }
                for s in segments
            ],
        )

    async def for_assembly(self, job_id: int) -> list[AssemblySegment]:
        """What assembling needs of each segment, in order."""
        table = Segment.__table__
        result = await self.session.execute(
            select(
                table.c.index,
                table.c.chapter_index,
                table.c.chapter_title,
                table.c.source_text,
                table.c.translated_text,
                table.c.unit_translations,
                table.c.failures,
            )
            .where(table.c.job_id == job_id)
            .order_by(table.c.index)
        )
        return [
            AssemblySegment(
                index=row.index,
                chapter_index=row.chapter_index,
                chapter_title=row.chapter_title,
                source_text=row.source_text,
                translated_text=row.translated_text,
                unit_translations=row.unit_translations or [],
                unit_failures=[UnitFailure.model_validate(f) for f in row.failures or []],
            )
            for row in result
        ]

    async def page(self, job_id: int, offset: int, limit: int) -> list[dict[str, Any]]:
        """Segments in order, for the API (text and translation, no engine internals)."""
        table = Segment.__table__
        result = await self.session.execute(
            select(
                table.c.index,
                table.c.source_text,
                table.c.translated_text,
                table.c.chapter_index,
                table.c.chapter_title,
                table.c.status,
                table.c.failures,
                table.c.warnings,
            )
            .where(table.c.job_id == job_id)
            .order_by(table.c.index)
            .offset(offset)
            .limit(limit)
        )
        return [dict(row._mapping) for row in result]

    async def count(self, job_id: int, *, translated: bool = False) -> int:
        query = select(func.count()).select_from(Segment).where(Segment.job_id == job_id)  # type: ignore[arg-type]
        if translated:
            query = query.where(Segment.translated_text.is_not(None))  # type: ignore[union-attr]
        return (await self.session.execute(query)).scalar_one()

    async def stream(self, job_id: int, *columns: str) -> AsyncIterator[Any]:
        """Rows of the job's segments in order, fetched in batches (a whole book's text is
        never held at once)."""
        table = Segment.__table__
        result = await self.session.stream(
            select(*(table.c[c] for c in columns))
            .where(table.c.job_id == job_id)
            .order_by(table.c.index)
            .execution_options(yield_per=256)
        )
        async for row in result:
            yield row

    async def states(self, job_id: int) -> list[tuple[int, str, int]]:
        """(index, status, estimated tokens) of every segment: what dispatching needs."""
        result = await self.session.execute(
            select(Segment.index, Segment.status, Segment.estimated_tokens)
            .where(Segment.job_id == job_id)  # type: ignore[arg-type]
            .order_by(Segment.index)  # type: ignore[arg-type]
        )
        return [(i, status, tokens) for i, status, tokens in result.all()]

    async def by_index(self, job_id: int, indexes: Sequence[int]) -> list[Segment]:
        if not indexes:
            return []
        result = await self.session.exec(
            select(Segment)
            .where(Segment.job_id == job_id, Segment.index.in_(indexes))  # type: ignore[arg-type,attr-defined]
            .order_by(Segment.index)  # type: ignore[arg-type]
        )
        return list(result.scalars().all())  # type: ignore[attr-defined]

    async def claim_pending(self, job_id: int, limit: int) -> list[Segment]:
        """The next pending segments, locked; rows another transaction holds are skipped
        (a result being stored for them right now), never waited for."""
        if limit <= 0:
            return []
        result = await self.session.exec(
            select(Segment)
            .where(Segment.job_id == job_id, Segment.status == SegmentStatus.PENDING)  # type: ignore[arg-type]
            .order_by(Segment.index)  # type: ignore[arg-type]
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return list(result.scalars().all())  # type: ignore[attr-defined]

    async def translated_text_of(self, job_id: int, index: int) -> str:
        result = await self.session.execute(
            select(Segment.translated_text).where(
                Segment.job_id == job_id,
                Segment.index == index,  # type: ignore[arg-type]
            )
        )
        return result.scalar_one_or_none() or ""

    async def mark_dispatched(self, job_id: int, fingerprints: dict[int, str]) -> None:
        if not fingerprints:
            return
        table = Segment.__table__  # a Core executemany, not an ORM bulk update
        await self.session.execute(
            update(table)
            .where(table.c.job_id == bindparam("job"), table.c.index == bindparam("idx"))
            .values(status=SegmentStatus.DISPATCHED, fingerprint=bindparam("fp")),
            [{"job": job_id, "idx": i, "fp": fp} for i, fp in fingerprints.items()],
        )

    async def store_translation(
        self,
        job_id: int,
        index: int,
        text: str,
        unit_translations: list[str],
        model: str,
        *,
        cached: bool = False,
        failures: Sequence[UnitFailure] = (),
        warnings: Sequence[str] = (),
    ) -> tuple[str, bool] | None:
        """Store a segment's translation once. Returns the job's owner (usage is
        attributed to them) and whether the job runs on the deployment's own key (its
        usage counts against the owner's daily allowance), or None if the segment was
        already stored."""
        table, jobs = Segment.__table__, Job.__table__  # Core: this runs for every result
        result = await self.session.execute(
            update(table)
            .where(
                table.c.job_id == job_id,
                table.c.index == index,
                table.c.status != SegmentStatus.TRANSLATED,
                jobs.c.id == table.c.job_id,
            )
            .values(
                translated_text=text,
                unit_translations=unit_translations,
                status=SegmentStatus.TRANSLATED,
                model=model,
                cached=cached,
                error=None,
                # SQL NULL (a Python None would be stored as JSON null).
                failures=[f.model_dump(mode="json") for f in failures] or null(),
                warnings=list(warnings) or null(),
                translated_at=datetime.now(UTC),
            )
            .returning(jobs.c.owner_id, jobs.c.credentials.is_(None))
        )
        row = result.first()
        return (row[0], bool(row[1])) if row is not None else None

    async def release(self, job_id: int, index: int) -> None:
        """A dispatched segment that stopped before finishing: pending again."""
        await self.session.execute(
            update(Segment)
            .where(
                Segment.job_id == job_id,  # type: ignore[arg-type]
                Segment.index == index,  # type: ignore[arg-type]
                Segment.status == SegmentStatus.DISPATCHED,  # type: ignore[arg-type]
            )
            .values(status=SegmentStatus.PENDING)
        )

    async def failures(self, job_id: int) -> list[dict[str, Any]]:
        """The segments that kept units untranslated, in order, with their failures."""
        table = Segment.__table__
        result = await self.session.execute(
            select(
                table.c.index,
                table.c.chapter_index,
                table.c.chapter_title,
                table.c.failures,
            )
            .where(table.c.job_id == job_id, table.c.failures.is_not(None))
            .order_by(table.c.index)
        )
        return [dict(row._mapping) for row in result]

    async def matching(
        self,
        job_id: int,
        *,
        failed: bool = False,
        check: str | None = None,
        chapters: tuple[int, int] | None = None,
    ) -> list[int]:
        """Indices of the segments with marked units (of that check), or in those chapters."""
        table = Segment.__table__
        query = select(table.c.index).where(table.c.job_id == job_id)
        if failed or check is not None:
            query = query.where(table.c.failures.is_not(None))
        if check is not None:
            query = query.where(table.c.failures.contains([{"check": check}]))
        if chapters is not None:
            query = query.where(table.c.chapter_index.between(*chapters))
        result = await self.session.execute(query.order_by(table.c.index))
        return list(result.scalars().all())

    async def reset(self, job_id: int, indexes: Sequence[int]) -> int:
        """Send these segments again: pending, their translation kept until a new one is
        stored (it says whether earlier answers may be reused). Returns how many of them
        had been counted as translated."""
        table = Segment.__table__
        result = await self.session.execute(
            update(table)
            .where(table.c.job_id == job_id, table.c.index.in_(list(indexes)))
            .values(status=SegmentStatus.PENDING)
            .returning(table.c.translated_at)
        )
        return sum(1 for (translated_at,) in result if translated_at is not None)

    async def reset_failed(self, job_id: int) -> None:
        """Failed segments (the provider failed them) are pending again."""
        table = Segment.__table__
        await self.session.execute(
            update(table)
            .where(table.c.job_id == job_id, table.c.status == SegmentStatus.FAILED)
            .values(status=SegmentStatus.PENDING)
        )

    async def mark_failed(self, job_id: int, index: int, reason: str) -> None:
        await self.session.execute(
            update(Segment)
            .where(Segment.job_id == job_id, Segment.index == index)  # type: ignore[arg-type]
            .values(status=SegmentStatus.FAILED, error=reason)
        )
