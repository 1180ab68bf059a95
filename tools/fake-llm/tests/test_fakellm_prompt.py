"""Prompt parsing: source block, target language, names, embedded schema, markers."""

from __future__ import annotations

from folio_fakellm.prompt import (
    extract_embedded_schema,
    extract_names,
    extract_source,
    extract_target_language,
)


def test_source_is_last_block_across_user_messages() -> None:
    texts = ["Example: <source>Old text</source>", "Now: <source>\n  New text here. \n</source>"]
    assert extract_source(texts) == "New text here."


def test_source_falls_back_to_last_user_message_and_strips_markers() -> None:
    assert extract_source(["first", "second [[fake:429*1]] message"]) == "second  message"


def test_fallback_source_drops_control_blocks() -> None:
    text = 'Translate. <target_language>ko</target_language> <json_schema>{"a": 1}</json_schema>'
    assert extract_source([text]) == "Translate."


def test_target_language_tag_or_default() -> None:
    assert extract_target_language("<target_language> Japanese </target_language>", "Korean") == (
        "Japanese"
    )
    assert extract_target_language("no tag", "Korean") == "Korean"


def test_names_skip_sentence_initial_words_and_keep_order(sample: str) -> None:
    names = extract_names(sample)
    assert names == ["Gregor", "Samsa", "Grete"]


def test_names_mid_sentence_and_repeated_capitalised() -> None:
    text = "Then Kafka wrote. Then Prague slept. Then Prague woke. In Vienna it rained. Then then."
    names = extract_names(text)
    # Kafka and Vienna occur mid-sentence; Prague only sentence-initially but twice and
    # never in lower case; "Then" is a stop word (and also occurs in lower case).
    assert names == ["Kafka", "Prague", "Vienna"]
    assert "Then" not in names and "In" not in names


def test_names_possessive_and_dialogue() -> None:
    text = '"Come here," said Anna. Anna\'s cat ran to Mr. Brown.'
    assert extract_names(text) == ["Anna", "Brown"]


def test_names_fallbacks() -> None:
    assert extract_names("The end. It was over.") == ["The", "It"]
    assert extract_names("nothing capitalised here") == ["Name1"]


def test_embedded_schema() -> None:
    prompt = 'Answer. <json_schema>{"type": "object", "properties": {}}</json_schema>'
    assert extract_embedded_schema(prompt) == {"type": "object", "properties": {}}
    assert extract_embedded_schema("<json_schema>not json</json_schema>") is None
    assert extract_embedded_schema("none") is None


def test_source_block_is_found_even_when_the_instructions_mention_the_tag():
    from folio_fakellm.prompt import extract_source

    prompt = (
        "Translate the text in <source> into <target_language>Korean</target_language>.\n\n"
        "<source>\nGregor woke.\n</source>"
    )
    assert extract_source([prompt]) == "Gregor woke."
