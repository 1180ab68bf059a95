"""The upstream's "core" structured-output schemas, by their upstream names and fields, as
``GET /schemas/core`` serves them (its frontend generates types from them), and the
translation-side API shapes ``GET /schemas/backend`` serves."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from folio_translation.analysis_schemas import (
    CharacterAnalysisResponse,
    GlossaryAnalysisResponse,
    StyleAnalysisResponse,
)
from folio_translation.schemas import (
    JobPublic,
    ResumeRequest,
    TranslatedTerm,
    TranslatedTerms,
)

Dimension = Literal[
    "completeness", "accuracy", "addition", "name_consistency", "dialogue_style", "flow", "other"
]


class ExtractedTerms(BaseModel):
    """Proper nouns found in a text."""

    terms: list[str] = Field(default_factory=list)


class CharacterInteraction(BaseModel):
    """How the protagonist speaks to one other character."""

    character_name: str
    speech_style: Literal["반말", "해요체", "하십시오체"]


class DialogueAnalysisResult(BaseModel):
    """The protagonist's dialogue in a segment."""

    protagonist_name: str
    interactions: list[CharacterInteraction] = Field(default_factory=list)
    has_dialogue: bool = False


class NarrationStyle(BaseModel):
    description: str
    ending_style: str = "해라체"


class NarrativeStyleDefinition(BaseModel):
    """The narrative style of a whole work."""

    protagonist_name: str
    narration_style: NarrationStyle
    core_tone_keywords: list[str] = Field(min_length=1, max_length=5)
    golden_rule: str


class StyleDeviation(BaseModel):
    """A part of a segment whose style departs from the work's."""

    has_deviation: bool
    starts_with: str | None = None
    instruction: str | None = None


class ValidationCase(BaseModel):
    """One problem a validation found in a translation."""

    current_korean_sentence: str
    problematic_source_sentence: str
    reason: str
    dimension: Dimension
    severity: Literal["1", "2", "3"]
    corrected_korean_sentence: str | None = None
    tags: list[str] = Field(default_factory=list)


class ValidationResponse(BaseModel):
    cases: list[ValidationCase] = Field(default_factory=list)


class TranslationJobCreate(BaseModel):
    """The fields of the ``POST /jobs`` form besides ``file`` (see the OpenAPI document)."""

    api_key: str | None = None
    backup_api_keys: str | None = None
    requests_per_minute: int | None = None
    model_name: str = "gemini-flash-lite-latest"
    translation_model_name: str | None = None
    style_model_name: str | None = None
    glossary_model_name: str | None = None
    thinking_level: str | None = None
    style_data: str | None = None
    glossary_data: str | None = None
    segment_size: int = 15000
    enable_validation: bool = False
    quick_validation: bool = False
    validation_sample_rate: float = 1.0
    enable_post_edit: bool = False
    api_provider: str = "gemini"
    provider_config: str | None = None
    turbo_mode: bool = False


CORE: dict[str, type[BaseModel]] = {
    "ExtractedTerms": ExtractedTerms,
    "TranslatedTerms": TranslatedTerms,
    "CharacterInteraction": CharacterInteraction,
    "DialogueAnalysisResult": DialogueAnalysisResult,
    "NarrativeStyleDefinition": NarrativeStyleDefinition,
    "StyleDeviation": StyleDeviation,
    "ValidationResponse": ValidationResponse,
    "ValidationCase": ValidationCase,
}

# The translation-side shapes; the community and user shapes are in those services' own
# OpenAPI documents (docs/api-compatibility.md).
BACKEND: dict[str, type[BaseModel]] = {
    "TranslationJob": JobPublic,
    "TranslationJobCreate": TranslationJobCreate,
    "ResumeRequest": ResumeRequest,
    "TranslatedTerm": TranslatedTerm,
    "GlossaryAnalysisResponse": GlossaryAnalysisResponse,
    "StyleAnalysisResponse": StyleAnalysisResponse,
    "CharacterAnalysisResponse": CharacterAnalysisResponse,
}


def core_schemas() -> dict[str, Any]:
    return {name: model.model_json_schema() for name, model in CORE.items()}


def backend_schemas() -> dict[str, Any]:
    return {name: model.model_json_schema() for name, model in BACKEND.items()}
