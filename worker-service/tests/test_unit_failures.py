"""A passage that cannot be translated is marked, never the end of its segment; a cut answer
splits its unit. The engine's translator against the fake model over real HTTP."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from folio.contracts import UNTRANSLATED_MARKER, PlannedUnit, UnitPiece, mark_untranslated
from folio.contracts.providers import ProviderConfig
from folio_worker.engine.calls import MemoryCache, ModelCaller
from folio_worker.engine.paragraphs import strip_ids
from folio_worker.engine.prompts import SAFETY_FRAMES
from folio_worker.engine.translator import SegmentTranslator
from folio_worker.engine.work import SegmentWork
from folio_worker.llm import InProcessRateLimiter, LLMBadRequest, LLMClient
from folio_worker.llm.transport import AiohttpTransport


def passage(tag: str, n: int, extra: str = "") -> str:
    return (
        f"{tag} passage {n}. Gregor looked at Grete while the rain fell on the window, and "
        f"the clerk waited in the hall for an answer that did not come.{extra}"
    )


def work(*texts: str) -> SegmentWork:
    return SegmentWork(
        target_language="Korean",
        source_language="English",
        units=[
            PlannedUnit(index=i, text=t, pieces=[UnitPiece(block=i, part=0, parts=1)])
            for i, t in enumerate(texts)
        ],
    )


def caller(kind: str, fake: str, http: Any) -> ModelCaller:
    settings = {
        "openai": {"model": "gpt-4o-mini", "base_url": fake + "/v1"},
        "gemini": {"model": "gemini-2.5-flash", "base_url": fake},
    }[kind]
    config = ProviderConfig(provider=kind, api_keys=(f"key-{uuid.uuid4().hex}",), **settings)
    client = LLMClient(
        config, http, limiter=InProcessRateLimiter(), backoff_base_s=0.01, backoff_cap_s=0.05
    )
    return ModelCaller(client, MemoryCache())


@contextlib.asynccontextmanager
async def failing(fake: str, needle: str, fault: str) -> AsyncIterator[None]:
    async with httpx.AsyncClient(base_url=fake) as client:
        added = await client.post("/_fake/faults", json={"source_contains": needle, "fault": fault})
        added.raise_for_status()
        try:
            yield
        finally:
            await client.delete("/_fake/faults")


async def sources_sent(fake: str, needle: str) -> list[str]:
    async with httpx.AsyncClient() as client:
        rows = (await client.get(fake + "/_fake/requests")).json()
    sources = []
    for row in rows:
        prompt = row["prompt"]
        start, end = prompt.rfind("<source>"), prompt.rfind("</source>")
        if start >= 0 and needle in prompt[start:end]:
            sources.append(prompt[start + len("<source>") : end].strip())
    return sources


@pytest.mark.parametrize(
    ("kind", "fault", "check", "answers"),
    [
        # The text itself is refused (Gemini PROHIBITED_CONTENT): new instructions cannot
        # help, so it is asked once.
        ("gemini", "finish=PROHIBITED_CONTENT", "safety", 1),
        # A block that reframing could lift, but never does: one answer per frame.
        ("openai", "block-prompt", "safety", len(SAFETY_FRAMES)),
        # Always answered in the source language: the bounded check retries.
        ("openai", "echo", "untranslated", 3),
    ],
)
async def test_a_passage_that_always_fails_is_marked_and_its_neighbours_translated(
    fake: str, http: AiohttpTransport, kind: str, fault: str, check: str, answers: int
) -> None:
    tag = f"unit-{uuid.uuid4().hex[:8]}"
    doomed = passage(tag, 1)
    texts = [passage(tag, 0), doomed, passage(tag, 2)]
    # The fault follows the passage, not the neighbours that quote it as context.
    async with failing(fake, f"{tag} passage 1.", fault):
        translator = SegmentTranslator(caller(kind, fake, http), attempts=3)
        result = await translator.translate(work(*texts))

    assert [(f.unit, f.check, f.attempts) for f in result.failures] == [(1, check, answers)]
    assert result.failures[0].reason
    assert result.translations[1] == mark_untranslated(doomed)
    assert result.translations[1].startswith(UNTRANSLATED_MARKER)
    for i in (0, 2):  # the rest of the segment is translated
        assert result.translations[i] and UNTRANSLATED_MARKER not in result.translations[i]
        assert result.translations[i] != texts[i]
    assert len(await sources_sent(fake, f"{tag} passage 1.")) == answers


async def test_a_cut_answer_splits_the_unit_and_each_half_is_translated(
    fake: str, http: AiohttpTransport
) -> None:
    tag = f"split-{uuid.uuid4().hex[:8]}"
    first, second = passage(tag, 0, " [[fake:truncate*1]]"), passage(tag, 1)
    unit = f"{first}\n\n{second}"
    result = await SegmentTranslator(caller("openai", fake, http)).translate(work(unit))

    assert result.failures == []
    assert len(result.translations[0].split("\n\n")) == 2  # both paragraphs, in order
    sent = await sources_sent(fake, tag)
    assert strip_ids(sent[0]) == unit  # cut at the output limit (sent with paragraph ids)...
    assert first in sent[1:] and second in sent[1:]  # ...then asked for each half


async def test_a_bad_request_for_one_passage_marks_it_but_for_every_unit_fails_the_segment(
    fake: str, http: AiohttpTransport
) -> None:
    tag = f"lang-{uuid.uuid4().hex[:8]}"
    texts = [passage(tag, 0), passage(tag, 1), passage(tag, 2)]
    # Gemini's LANGUAGE finish: the model does not support this text's language.
    async with failing(fake, f"{tag} passage 1.", "finish=LANGUAGE"):
        one = await SegmentTranslator(caller("gemini", fake, http)).translate(work(*texts))
    assert [(f.unit, f.check) for f in one.failures] == [(1, "bad_request")]
    async with failing(fake, tag, "finish=LANGUAGE"):
        with pytest.raises(LLMBadRequest):  # the request, not a passage: resumable failure
            await SegmentTranslator(caller("gemini", fake, http)).translate(work(*texts))
