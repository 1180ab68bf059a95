"""A job's glossary as edited after planning (``POST /jobs/{id}/glossary``).

The plan holds each segment's slice of the glossary as it was when the book was planned.
When a user edits the glossary afterwards, translation-service stores the whole edited
glossary as this blob; every later segment command cites it (``glossary_key`` and
``glossary_digest``) and the worker takes the segment's terms from it instead of the
plan's slice, so a re-translation uses the edited names and terms.
"""

from __future__ import annotations

import hashlib
import json
from typing import ClassVar

from pydantic import Field

from folio.contracts.blobs import BlobContract
from folio.contracts.engine import GlossaryEntry


def glossary_digest(entries: list[GlossaryEntry]) -> str:
    """Names the glossary's content (it is part of translation-memory fingerprints)."""
    payload = json.dumps([e.model_dump(mode="json") for e in entries], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class JobGlossary(BlobContract):
    CONTRACT: ClassVar[str] = "translation.glossary.v1"

    job_id: int
    entries: list[GlossaryEntry] = Field(default_factory=list)

    def digest(self) -> str:
        return glossary_digest(self.entries)
