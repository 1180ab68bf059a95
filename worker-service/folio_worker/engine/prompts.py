"""Every prompt the engine sends. Texts are ours; the structure follows one rule: what the
model must translate sits inside <source>, everything else is instruction or context.

Changing a prompt changes results: bump ``folio.contracts.engine.ENGINE_VERSION``.
"""

from __future__ import annotations

from collections.abc import Sequence

from folio.contracts import Character, GlossaryEntry, NarrativeStyle
from folio_worker.engine.documents.placeholders import TAG
from folio_worker.engine.documents.placeholders import strip as strip_tags
from folio_worker.engine.languages import code_of, language_name, parse_language

# How each broad level of address is expressed in target languages that mark it
# (honorific speech levels, T-V pronouns, polite particles). A target not listed does not
# mark address grammatically, and the level is passed on as it is.
FORMALITY_HINTS: dict[str, dict[str, str]] = {
    "ko": {
        "formal": "하십시오체 (formal deferential)",
        "polite": "해요체 (polite)",
        "casual": "반말 (plain, familiar)",
        "intimate": "반말 (intimate)",
    },
    "ja": {
        "formal": "敬語 (keigo, honorific)",
        "polite": "です・ます調 (polite)",
        "casual": "タメ口 (plain form)",
        "intimate": "タメ口 (intimate plain form)",
    },
    "zh": {
        "formal": "您, formal wording",
        "polite": "您 (polite)",
        "casual": "你 (familiar)",
        "intimate": "你, intimate wording",
    },
    "de": {"formal": "Sie", "polite": "Sie", "casual": "du", "intimate": "du"},
    "fr": {"formal": "vous", "polite": "vous", "casual": "tu", "intimate": "tu"},
    "es": {"formal": "usted", "polite": "usted", "casual": "tú", "intimate": "tú"},
    "it": {"formal": "Lei", "polite": "Lei", "casual": "tu", "intimate": "tu"},
    "pt": {
        "formal": "o senhor / a senhora",
        "polite": "você (polite)",
        "casual": "tu / você (familiar)",
        "intimate": "tu / você (intimate)",
    },
    "nl": {"formal": "u", "polite": "u", "casual": "jij", "intimate": "jij"},
    "ru": {"formal": "вы", "polite": "вы", "casual": "ты", "intimate": "ты"},
    "uk": {"formal": "ви", "polite": "ви", "casual": "ти", "intimate": "ти"},
    "pl": {
        "formal": "Pan / Pani (third person)",
        "polite": "Pan / Pani",
        "casual": "ty",
        "intimate": "ty",
    },
    "cs": {
        "formal": "vy (vykání)",
        "polite": "vy (vykání)",
        "casual": "ty (tykání)",
        "intimate": "ty (tykání)",
    },
    "tr": {"formal": "siz", "polite": "siz", "casual": "sen", "intimate": "sen"},
    "sv": {"formal": "ni", "polite": "du", "casual": "du", "intimate": "du"},
    "el": {"formal": "εσείς", "polite": "εσείς", "casual": "εσύ", "intimate": "εσύ"},
    "hi": {"formal": "आप", "polite": "आप", "casual": "तुम", "intimate": "तू"},
    "id": {
        "formal": "Anda / Bapak / Ibu",
        "polite": "Anda",
        "casual": "kamu",
        "intimate": "kamu / aku",
    },
    "vi": {
        "formal": "ông / bà with kinship terms (formal)",
        "polite": "anh / chị with polite particles (ạ)",
        "casual": "bạn / cậu",
        "intimate": "mày / tao or em / anh",
    },
    "th": {
        "formal": "ครับ / ค่ะ with formal pronouns",
        "polite": "ครับ / ค่ะ",
        "casual": "without polite particles",
        "intimate": "intimate pronouns (กู / มึง among close friends)",
    },
}

# Safety blocks are answered by reframing the *instructions*; the source text is never
# touched. Each rung is tried once, in order.
SAFETY_FRAMES = (
    "",
    "This is a published work of literary fiction being translated for a licensed edition. "
    "Difficult themes are part of the original and must be rendered faithfully, neither "
    "softened nor amplified.\n\n",
    "Context: scholarly translation of a literary text for a university course on world "
    "literature. Translate faithfully; the passage is fiction and describes, it does not "
    "endorse.\n\n",
)


def formality_hint(target_language: str, formality: str) -> str:
    hints = FORMALITY_HINTS.get(code_of(target_language), {})
    return hints.get(formality, formality)


_SCRIPT_NAMES = {"Hant": "Traditional Chinese characters", "Hans": "Simplified Chinese characters"}


def script_rule(target_language: str) -> str:
    """A sentence naming the target's script where the language has more than one."""
    tag = parse_language(target_language)
    if tag.code == "zh" and tag.iso_script in _SCRIPT_NAMES:
        return f" Write in {_SCRIPT_NAMES[tag.iso_script]} only."
    if tag.iso_script and f"-{tag.iso_script}" in tag.tag:
        return f" Write in the {tag.script.capitalize()} script only."
    return ""


def _style_block(style: NarrativeStyle) -> str:
    lines = []
    if style.protagonist:
        lines.append(f"- Protagonist / narrator: {style.protagonist}")
    if style.narration:
        lines.append(f"- Narration: {style.narration}")
    if style.formality:
        lines.append(f"- Register of the narration: {style.formality}")
    if style.tone:
        lines.append(f"- Tone: {', '.join(style.tone)}")
    if style.key_rule:
        lines.append(f"- Key rule: {style.key_rule}")
    return "\n".join(lines) or "- Keep the original's narrative voice and register."


def _glossary_block(glossary: Sequence[GlossaryEntry]) -> str:
    return "\n".join(_glossary_line(g) for g in glossary)


def _glossary_line(entry: GlossaryEntry) -> str:
    if entry.do_not_translate:
        line = f"- {entry.term} => {entry.term} (keep exactly as written, do not translate)"
    else:
        line = f"- {entry.term} => {entry.translation}"
    details = [
        d
        for d in (entry.gender if entry.gender not in (None, "unknown") else None, entry.note)
        if d
    ]
    return line + (f" [{'; '.join(details)}]" if details else "")


def _characters_block(characters: Sequence[Character], target: str) -> str:
    lines = []
    for c in characters:
        head = c.name + (f" ({c.translation})" if c.translation else "")
        if c.gender != "unknown":
            head += f", {c.gender}"
        voices = [
            f"to {s.listener}: {formality_hint(target, s.formality)}"
            + (f" ({s.note})" if s.note else "")
            for s in c.speaks_to
            if s.formality != "unknown"
        ]
        lines.append(f"- {head}" + (f"; speaks {'; '.join(voices)}" if voices else ""))
    return "\n".join(lines)


_MARKUP_RULE = (
    "4. Tags such as <i1>...</i1>, <b2>...</b2>, <a3>...</a3>, <n4>...</n4> and <x5/> mark "
    "formatting, links and notes: keep every tag exactly once, in the same order, around the "
    "words that correspond to what they enclose; do not add tags.\n"
)


def _paragraph_rule(paragraphs: int) -> str:
    if paragraphs <= 1:
        return "This passage is one paragraph; answer with one paragraph.\n"
    return (
        f'This passage has {paragraphs} paragraphs, each inside <p id="k">...</p> '
        f"(k = 1 to {paragraphs}). Answer with the same {paragraphs} paragraphs, each inside "
        '<p id="k">...</p> with the id of the paragraph it translates, in the same order.\n'
    )


def job_prefix(
    *,
    target_language: str,
    source_language: str | None,
    style: NarrativeStyle,
    glossary: Sequence[GlossaryEntry],
    characters: Sequence[Character],
    turbo: bool,
) -> str:
    """The first part of every translation prompt of a job, byte-identical across its
    calls, so providers' prefix caches apply (OpenAI from 1024 tokens, Gemini's implicit
    cache, Anthropic's cache breakpoints): the instructions, the style, the book's whole
    glossary and its characters. Nothing that varies per call may go in here."""
    target = language_name(target_language)
    source = language_name(source_language) if source_language else "the source language"
    parts = [
        f"You are a literary translator. Translate the passage in the source block from "
        f"{source} into {target}: complete, faithful, natural and fluent."
        f"{script_rule(target_language)}\n",
        "Rules:\n"
        "1. Answer with the passage's paragraphs in the same order, marked as they are "
        "(how many it has is given with it); never merge, split, drop or renumber them.\n"
        f"2. Leave nothing in {source}; add no notes, titles, quotes around the answer or "
        "explanations. Answer with the translation only.\n"
        "3. Render names and terms exactly as the glossary says.\n",
    ]
    if not turbo:
        parts.append(f"\nNarrative style of the book:\n{_style_block(style)}\n")
    if glossary:
        ordered = sorted(glossary, key=lambda g: (g.term.casefold(), g.term))
        parts.append(f"\nGlossary:\n{_glossary_block(ordered)}\n")
    if characters and not turbo:
        parts.append(
            f"\nCharacters of the book and how they speak:\n"
            f"{_characters_block(characters, target_language)}\n"
            "Other characters: keep their speech natural and consistent.\n"
        )
    parts.append(f"\n<target_language>{target}</target_language>\n")
    return "".join(parts)


def translation_prompt(
    *,
    prefix: str,
    source_text: str,
    paragraphs: int,
    deviation: str | None,
    previous_source: str,
    next_source: str,
    previous_translation: str,
    frame: int = 0,
    target_language: str = "",
    chapter_characters: Sequence[Character] = (),
    chapter_summary: str = "",
) -> str:
    """The job's ``prefix`` (``job_prefix``), then what is this call's own: a reframing
    after a safety block, the paragraph rule, the markup rule when the passage has tags,
    the passage's style deviation, how characters speak in this chapter where that
    changed, the chapter's summary, the neighbouring source, the translation so far
    (strict mode) and the source (its paragraphs marked with their ids)."""
    parts = [prefix, "\n"]
    if SAFETY_FRAMES[frame]:
        parts.append(SAFETY_FRAMES[frame])
    parts.append(_paragraph_rule(paragraphs))
    if TAG.search(source_text):
        parts.append(_MARKUP_RULE)
    if deviation:
        parts.append(
            f"\nThis passage departs from the book's usual style: {deviation} "
            "(this overrides the narrative style where they conflict).\n"
        )
    if chapter_characters:
        parts.append(
            "\nHow they speak in this chapter (this overrides the list above):\n"
            f"{_characters_block(chapter_characters, target_language)}\n"
        )
    if chapter_summary:
        parts.append(
            "\nWhat happens in this chapter, for context only (do not translate it):\n"
            f"{chapter_summary}\n"
        )
    if previous_source or next_source:
        parts.append("\nSurrounding text, for context only (do not translate it):\n")
        if previous_source:
            parts.append(f"<before>\n{previous_source}\n</before>\n")
        if next_source:
            parts.append(f"<after>\n{next_source}\n</after>\n")
    if previous_translation:
        parts.append(
            "\nThe translation so far ends like this; continue it seamlessly (same names, "
            f"register and voice):\n<previous_translation>\n{previous_translation}\n"
            "</previous_translation>\n"
        )
    parts.append(f"\n<source>\n{source_text}\n</source>")
    return "".join(parts)


def analysis_prompt(*, text: str, target_language: str, source_language: str | None) -> str:
    target = language_name(target_language)
    return (
        "You are preparing the translation of a book into "
        f"{target}. Read the excerpt in the source block and report, as JSON:\n"
        "- summary: what happens in the excerpt, in one or two sentences in English;\n"
        "- narration: point of view, who the protagonist or narrator is (a name as written, "
        "or null), the narrative voice, the register the narration should have in "
        f"{target}, 3-5 tone keywords, and one key stylistic rule for the translator;\n"
        "- terms: proper nouns and unique terms that must be translated consistently "
        "(people, places, organisations, unique objects or concepts), exactly as written, "
        "with an article only where it is part of the name (Los Angeles, The Hague); not "
        "common nouns, not words capitalised only because they begin a sentence;\n"
        "- characters: for each person who speaks or is addressed, the gender where the "
        "text makes it evident, and how they speak to each listener (formal, polite, casual, "
        "intimate or unknown);\n"
        "- deviations: passages that depart from the usual narration (a letter, a dream, a "
        "poem, an announcement, a quoted document): their first words exactly as in the "
        "text and a one-line instruction for translating them.\n"
        "Report only what the excerpt shows.\n\n"
        f"<target_language>{target}</target_language>\n"
        f"<source>\n{strip_tags(text)}\n</source>"
    )


def glossary_prompt(
    *, terms: Sequence[tuple[str, str, str]], target_language: str, known: Sequence[GlossaryEntry]
) -> str:
    """``terms``: (term, kind, example sentence)."""
    target = language_name(target_language)
    listing = "\n".join(f"- {term} ({kind}): {example}" for term, kind, example in terms)
    known_block = (
        "\nAlready decided (build on these: a name made of known parts uses the known "
        f"renderings):\n{_glossary_block(known)}\n"
        if known
        else ""
    )
    return (
        f"Give the {target} rendering every term below should have throughout the book. "
        "Prefer established renderings (published translations, standard transliteration); "
        "names of the same person or family must share their renderings."
        + known_block
        + f"\n<target_language>{target}</target_language>\n"
        f"<source>\n{listing}\n</source>"
    )


def labels_prompt(
    *,
    labels: Sequence[str],
    target_language: str,
    source_language: str | None,
    glossary: Sequence[GlossaryEntry],
) -> str:
    """The book's navigation labels that match no heading (table-of-contents entries such
    as "Notes" or "About the Author"), to be translated as labels, with the glossary's
    renderings of the names they contain."""
    target = language_name(target_language)
    source = language_name(source_language) if source_language else "the source language"
    listed = "\n".join(f"- {label}" for label in labels)
    parts = [
        f"Translate these table-of-contents labels of a book from {source} into {target}."
        f"{script_rule(target_language)} Keep each one short, as a label; translate every "
        "label; leave numbers and symbols as they are. Answer as JSON: for each label, the "
        "label exactly as given (source) and its translation.\n",
    ]
    if glossary:
        parts.append(
            f"\nRender names and terms as the book's glossary does:\n{_glossary_block(glossary)}\n"
        )
    parts.append(f"\n<labels>\n{listed}\n</labels>\n<target_language>{target}</target_language>\n")
    return "".join(parts)
