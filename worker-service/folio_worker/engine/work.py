"""What the engine translates for one segment: the job's settings from the command and the
segment's part of the stored plan (its units and their context)."""

from __future__ import annotations

from dataclasses import dataclass, field

from folio.contracts import (
    NarrativeStyle,
    PlannedUnit,
    SegmentContext,
    SegmentPlan,
    TranslateSegment,
)
from folio.contracts.engine import TranslationMode


@dataclass(frozen=True)
class SegmentWork:
    target_language: str
    units: list[PlannedUnit]
    source_language: str | None = None
    mode: TranslationMode = "default"
    style: NarrativeStyle = field(default_factory=NarrativeStyle)
    context: SegmentContext = field(default_factory=SegmentContext)
    previous_translation: str = ""  # strict continuity only

    @classmethod
    def of(cls, command: TranslateSegment, plan: SegmentPlan) -> SegmentWork:
        return cls(
            target_language=command.target_language,
            source_language=command.source_language,
            mode=command.mode,
            style=command.style,
            units=plan.units,
            context=plan.context,
            previous_translation=command.previous_translation,
        )
