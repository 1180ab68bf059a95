"""Prompt texts. Sources and targets are delimited with tags the model cannot confuse."""

from __future__ import annotations


def translation_prompt(source_text: str, target_language: str) -> str:
    return (
        f"You are a literary translator. Translate the text in <source> into "
        f"<target_language>{target_language}</target_language>, keeping every paragraph, "
        "the meaning, the tone and the names. Answer with the translation only.\n\n"
        f"<source>\n{source_text}\n</source>"
    )
