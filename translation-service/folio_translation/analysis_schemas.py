"""What ``/analysis/*`` returns: the upstream's response shapes, filled from the engine's
context (style, glossary, characters and how they speak to each other).

The upstream's speech styles are Korean register names; Folio's engine knows registers
for every target language (``formality``: formal, polite, casual, intimate), so each
interaction carries both: ``speech_style`` (the upstream's value for that register) and
``formality``.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from folio.contracts import BookAnalysed, Character
from folio_translation.schemas import TranslatedTerm, TranslatedTerms

SpeechStyleValue = Literal["반말", "해요체", "하십시오체"]
SPEECH_STYLES: dict[str, SpeechStyleValue] = {
    "formal": "하십시오체",
    "polite": "해요체",
    "casual": "반말",
    "intimate": "반말",
}


class CharacterInteraction(BaseModel):
    character_name: str
    speech_style: SpeechStyleValue
    formality: str
    note: str | None = None


class DialogueAnalysisResult(BaseModel):
    protagonist_name: str
    interactions: list[CharacterInteraction] = Field(default_factory=list)
    has_dialogue: bool = False


class NarrationStyle(BaseModel):
    description: str
    ending_style: str = ""


class NarrativeStyleDefinition(BaseModel):
    protagonist_name: str
    narration_style: NarrationStyle
    core_tone_keywords: list[str]
    golden_rule: str


class _Analysed(BaseModel):
    """What every analysis adds to the upstream's shape (Folio's own fields)."""

    source_language: str | None = None
    characters_read: int = 0


def _interactions(character: Character) -> list[CharacterInteraction]:
    return [
        CharacterInteraction(
            character_name=speech.listener,
            speech_style=SPEECH_STYLES[speech.formality],
            formality=speech.formality,
            note=speech.note,
        )
        for speech in character.speaks_to
        if speech.formality in SPEECH_STYLES
    ]


def _dialogue(characters: list[Character]) -> list[DialogueAnalysisResult]:
    results = []
    for character in characters:
        interactions = _interactions(character)
        results.append(
            DialogueAnalysisResult(
                protagonist_name=character.name,
                interactions=interactions,
                has_dialogue=bool(interactions),
            )
        )
    return results


def _protagonist(answer: BookAnalysed) -> str:
    return answer.context.style.protagonist or "Protagonist"


class StyleAnalysisResponse(_Analysed):
    protagonist_name: str
    narration_style_endings: str
    tone_keywords: str
    stylistic_rule: str
    narrative_style: NarrativeStyleDefinition | None = None
    character_styles: list[DialogueAnalysisResult] | None = None

    @classmethod
    def of(cls, answer: BookAnalysed) -> Self:
        style = answer.context.style
        protagonist = _protagonist(answer)
        return cls(
            protagonist_name=protagonist,
            narration_style_endings=style.formality or "",
            tone_keywords=", ".join(style.tone),
            stylistic_rule=style.key_rule or "",
            narrative_style=NarrativeStyleDefinition(
                protagonist_name=protagonist,
                narration_style=NarrationStyle(
                    description=style.narration or "", ending_style=style.formality or ""
                ),
                core_tone_keywords=list(style.tone),
                golden_rule=style.key_rule or "",
            ),
            character_styles=_dialogue(answer.context.characters),
            source_language=answer.source_language,
            characters_read=answer.characters_read,
        )


class ExtractedTerms(BaseModel):
    terms: list[str] = Field(default_factory=list)


class GlossaryAnalysisResponse(_Analysed):
    glossary: list[dict[str, str]]
    extracted_terms: ExtractedTerms | None = None
    translated_terms: TranslatedTerms | None = None

    @classmethod
    def of(cls, answer: BookAnalysed) -> Self:
        entries = answer.context.glossary
        return cls(
            glossary=[{"term": g.term, "translation": g.translation} for g in entries],
            extracted_terms=ExtractedTerms(terms=[g.term for g in entries]),
            translated_terms=TranslatedTerms(
                translations=[TranslatedTerm(source=g.term, korean=g.translation) for g in entries]
            ),
            source_language=answer.source_language,
            characters_read=answer.characters_read,
        )


class CharacterAnalysisResponse(_Analysed):
    characters: list[dict[str, Any]]
    interactions: list[CharacterInteraction] | None = None
    dialogue_analysis: list[DialogueAnalysisResult] | None = None
    protagonist_name: str | None = None

    @classmethod
    def of(cls, answer: BookAnalysed) -> Self:
        characters = answer.context.characters
        protagonist = _protagonist(answer)
        main = next((c for c in characters if c.name.casefold() == protagonist.casefold()), None)
        return cls(
            characters=[c.model_dump(mode="json") for c in characters],
            # The protagonist's interactions (the upstream's field), or, when the book's
            # protagonist is not among the speakers, everyone's.
            interactions=(
                _interactions(main)
                if main is not None
                else [i for c in characters for i in _interactions(c)]
            ),
            dialogue_analysis=_dialogue(characters),
            protagonist_name=protagonist,
            source_language=answer.source_language,
            characters_read=answer.characters_read,
        )
