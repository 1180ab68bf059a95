"""Navigation labels that match no heading (an EPUB's "Notes", "About the Author"...):
translated in one structured call of the plan, through the job's caller, so the call is
paid for, recorded and held to the spending limits like every other. Labels that match a
heading take its translation at assembly (``documents/epub_nav.py``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from folio.contracts import GlossaryEntry
from folio_worker.engine.calls import ModelCaller
from folio_worker.engine.context import glossary_for
from folio_worker.engine.prompts import labels_prompt
from folio_worker.engine.reports import labels_schema
from folio_worker.llm import LLMAuthError, LLMError

log = logging.getLogger(__name__)

ATTEMPTS = 2  # asked once more before the labels are reported and left as they are
MAX_LABELS = 200  # a table of contents, not a second book
MAX_LABEL_CHARS = 300


async def translate_labels(
    labels: Sequence[str],
    *,
    caller: ModelCaller,
    target_language: str,
    source_language: str | None,
    glossary: Sequence[GlossaryEntry],
    warnings: list[str],
) -> dict[str, str]:
    """Each label's translation, by its source text ({} when there is none to make)."""
    asked = list(dict.fromkeys(label for label in labels if len(label) <= MAX_LABEL_CHARS))
    asked = asked[:MAX_LABELS]
    if not asked:
        return {}
    prompt = labels_prompt(
        labels=asked,
        target_language=target_language,
        source_language=source_language,
        glossary=glossary_for("\n".join(asked), glossary),
    )
    reason = "no answer"
    for _ in range(ATTEMPTS):
        try:
            answer = await caller.structured(prompt, labels_schema(asked))
            break
        except LLMAuthError:
            raise
        except LLMError as exc:
            reason = exc.reason
            log.warning("navigation labels could not be translated: %s", exc)
    else:
        warnings.append(
            f"The {len(asked)} navigation labels that match no heading could not be "
            f"translated ({reason}): they stay in the source language."
        )
        return {}
    return {
        item.source: item.translation.strip()  # type: ignore[attr-defined]
        for item in answer.translations  # type: ignore[attr-defined]
        if item.translation.strip()  # type: ignore[attr-defined]
    }
