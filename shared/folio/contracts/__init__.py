"""Versioned message contracts: the single source of truth for every message on the bus."""

from folio.contracts.assembly import AssemblySegment, AssemblySnapshot
from folio.contracts.base import (
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    WORK_EXCHANGE,
    Command,
    Event,
    Message,
    all_message_classes,
    message_class,
)
from folio.contracts.blobs import BlobContract, BlobContractError
from folio.contracts.common import TokenUsage
from folio.contracts.control import JobCancelled
from folio.contracts.engine import (
    ENGINE_VERSION,
    CallRecord,
    Character,
    CostEstimate,
    GlossaryEntry,
    JobContext,
    NarrativeStyle,
    PhaseEstimate,
    PlannedUnit,
    SegmentContext,
    SpeechStyle,
    UnitPiece,
)
from folio.contracts.glossary import JobGlossary, glossary_digest
from folio.contracts.outputs import OUTPUT_FILES, OutputFile, OutputKind, download_name
from folio.contracts.plan import JobPlan, SegmentPlan
from folio.contracts.providers import ProviderConfig
from folio.contracts.translation import (
    AssembleJob,
    DocumentInfo,
    JobAssembled,
    JobAssemblyFailed,
    JobPlanned,
    JobPlanningFailed,
    JobPlanningPaused,
    PlanJob,
    PlannedSegment,
    SegmentTranslated,
    SegmentTranslationFailed,
    TranslateSegment,
)
from folio.contracts.usage import UsageCategory, UsageRecorded
from folio.contracts.users import UserCreated, UserDeleted, UserUpdated

__all__ = [
    "DEAD_LETTER_EXCHANGE",
    "ENGINE_VERSION",
    "EVENTS_EXCHANGE",
    "OUTPUT_FILES",
    "WORK_EXCHANGE",
    "AssembleJob",
    "AssemblySegment",
    "AssemblySnapshot",
    "BlobContract",
    "BlobContractError",
    "CallRecord",
    "Character",
    "Command",
    "CostEstimate",
    "DocumentInfo",
    "Event",
    "GlossaryEntry",
    "JobAssembled",
    "JobAssemblyFailed",
    "JobCancelled",
    "JobContext",
    "JobGlossary",
    "JobPlan",
    "JobPlanned",
    "JobPlanningFailed",
    "JobPlanningPaused",
    "Message",
    "NarrativeStyle",
    "OutputFile",
    "OutputKind",
    "PhaseEstimate",
    "PlanJob",
    "PlannedSegment",
    "PlannedUnit",
    "ProviderConfig",
    "SegmentContext",
    "SegmentPlan",
    "SegmentTranslated",
    "SegmentTranslationFailed",
    "SpeechStyle",
    "TokenUsage",
    "TranslateSegment",
    "UnitPiece",
    "UsageCategory",
    "UsageRecorded",
    "UserCreated",
    "UserDeleted",
    "UserUpdated",
    "all_message_classes",
    "download_name",
    "glossary_digest",
    "message_class",
]
