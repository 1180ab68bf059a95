"""Reasoning preambles that some models write into the answer itself.

DeepSeek-R1, Qwen3, QwQ and their distillations answer ``<think>…</think>`` before the
answer when the server has no reasoning parser (vLLM without ``--reasoning-parser``,
Ollama, llama-cpp-python), and chat templates that open the block in the prompt leave only
the closing tag in the output. None of it is translation: it must never reach a book.
"""

from __future__ import annotations

import re

_TAGS = "think|thinking|reasoning|thought"
_OPENING = re.compile(rf"^\s*<({_TAGS})>", re.IGNORECASE)
_CLOSING = re.compile(rf"</({_TAGS})>", re.IGNORECASE)


def split_reasoning(text: str) -> tuple[str, str]:
    """``(answer, reasoning)``: the answer without a leading reasoning block.

    A block that is never closed (the answer was cut while the model was still thinking)
    leaves no answer at all.
    """
    opening = _OPENING.match(text)
    if opening is not None:
        tag = opening.group(1)
        rest = text[opening.end() :]
        closing = re.search(rf"</{tag}>", rest, re.IGNORECASE)
        if closing is None:
            return "", rest
        return rest[closing.end() :].lstrip(), rest[: closing.start()]
    closing = _CLOSING.search(text)
    if closing is not None and not re.search(
        rf"<{closing.group(1)}>", text[: closing.start()], re.IGNORECASE
    ):
        # The template opened the block: everything before the lone closing tag is thought.
        return text[closing.end() :].lstrip(), text[: closing.start()]
    return text, ""
