"""Queries of the ``translation_memory`` table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from folio_translation.models import TranslationMemory


class MemoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lookup(self, fingerprints: Sequence[str]) -> dict[str, list[str]]:
        if not fingerprints:
            return {}
        result = await self.session.execute(
            update(TranslationMemory)
            .where(TranslationMemory.fingerprint.in_(fingerprints))  # type: ignore[attr-defined]
            .values(hits=TranslationMemory.hits + 1)
            .returning(TranslationMemory.fingerprint, TranslationMemory.unit_translations)
        )
        return {fp: list(units) for fp, units in result.all()}
