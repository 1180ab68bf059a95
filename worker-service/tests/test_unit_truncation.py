"""A translation cut at the model's output limit: the unit is split and each part translated;
it is marked only when a part is still cut after the split depth. Against the fake model over
real HTTP, in each provider's own words for a cut answer (OpenAI ``finish_reason: "length"``,
Gemini ``finishReason: "MAX_TOKENS"``, Anthropic ``stop_reason: "max_tokens"``), read by the
real provider clients."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from folio.contracts import UNTRANSLATED_MARKER, PlannedUnit, UnitPiece, mark_untranslated
from folio.contracts.providers import ProviderConfig
from folio_worker.engine.calls import MemoryCache, ModelCaller
from folio_worker.engine.paragraphs import numbered, strip_ids
from folio_worker.engine.translator import MAX_SPLIT_DEPTH, SegmentTranslator
from folio_worker.engine.work import SegmentWork
from folio_worker.llm import CallUsage, InProcessRateLimiter, LLMClient
from folio_worker.llm.transport import AiohttpTransport

PROVIDERS = {
    "openai": {"model": "gpt-4o-mini", "base_url": "{fake}/v1"},
    "gemini": {"model": "gemini-2.5-flash", "base_url": "{fake}"},
    "anthropic": {"model": "claude-3-5-haiku-latest", "base_url": "{fake}"},
}


def translator(kind: str, fake: str, http: Any, calls: list[CallUsage]) -> SegmentTranslator:
    settings = {k: v.format(fake=fake) for k, v in PROVIDERS[kind].items()}
    config = ProviderConfig(provider=kind, api_keys=(f"key-{uuid.uuid4().hex}",), **settings)
    client = LLMClient(
        config,
        http,
        limiter=InProcessRateLimiter(),
        backoff_base_s=0.01,
        backoff_cap_s=0.05,
        on_call=calls.append,
    )
    return SegmentTranslator(ModelCaller(client, MemoryCache()), attempts=3)


def paragraph(word: str, n: int) -> str:
    return (
        f"Paragraph {n} of {word}. Gregor looked at Grete while the rain fell on the window, "
        "and the clerk waited in the hall for an answer that did not come."
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


async def cut_whenever(fake: str, needle: str) -> None:
    """Every answer about a text containing ``needle`` is cut at the output limit."""
    async with httpx.AsyncClient(base_url=fake) as client:
        added = await client.post(
            "/_fake/faults", json={"source_contains": needle, "fault": "truncate"}
        )
        added.raise_for_status()


async def sources(fake: str) -> list[str]:
    """The text to translate of each request, in order."""
    async with httpx.AsyncClient(base_url=fake) as client:
        rows = (await client.get("/_fake/requests")).json()
    sent = []
    for row in sorted(rows, key=lambda r: r.get("seq", 0)):
        prompt = row["prompt"]
        start, end = prompt.rfind("<source>"), prompt.rfind("</source>")
        if start >= 0:
            # Paragraphs travel with their ids; compare the text the engine asked about.
            sent.append(strip_ids(prompt[start + len("<source>") : end]).strip())
    return sent


@pytest.fixture(autouse=True)
async def clean(fake: str) -> AsyncIterator[None]:
    async with httpx.AsyncClient(base_url=fake) as client:
        await client.post("/_fake/reset")
    yield
    async with httpx.AsyncClient(base_url=fake) as client:
        await client.post("/_fake/reset")


@pytest.mark.parametrize("kind", sorted(PROVIDERS))
async def test_a_unit_cut_at_the_output_limit_is_split_and_each_half_translated(
    fake: str, http: AiohttpTransport, kind: str
) -> None:
    word = f"long{uuid.uuid4().hex[:8]}"
    texts = [paragraph(word, n) for n in range(4)]
    unit = "\n\n".join(texts)
    # The whole unit's answer does not fit; each half's does (the needle spans both halves,
    # as the model sees them: with their paragraph ids).
    tagged = numbered(texts)
    await cut_whenever(
        fake, tagged[tagged.index(texts[1]) : tagged.index(texts[2]) + len(texts[2])]
    )
    calls: list[CallUsage] = []
    result = await translator(kind, fake, http, calls).translate(work(unit))

    assert result.failures == []
    translated = result.translations[0]
    assert UNTRANSLATED_MARKER not in translated
    assert len(translated.split("\n\n")) == 4  # every paragraph, none lost at the cut
    assert not any(text in translated for text in texts)
    sent = await sources(fake)
    assert sent == [unit, "\n\n".join(texts[:2]), "\n\n".join(texts[2:])]
    # The provider's own finish reason was read as a cut answer, once.
    assert [c.outcome for c in calls] == ["length", "ok", "ok"]


@pytest.mark.parametrize("kind", sorted(PROVIDERS))
async def test_a_part_still_cut_after_the_split_depth_marks_its_unit_only(
    fake: str, http: AiohttpTransport, kind: str
) -> None:
    word = f"stuck{uuid.uuid4().hex[:8]}"
    doomed = "\n\n".join([paragraph("the neighbour", 0), paragraph(word, 1)])
    neighbour = paragraph("the other unit", 2)
    # One word's answer is cut however small the part around it: no split can help.
    await cut_whenever(fake, word)
    calls: list[CallUsage] = []
    result = await translator(kind, fake, http, calls).translate(work(doomed, neighbour))

    (failure,) = result.failures
    assert (failure.unit, failure.check) == (0, "truncated")
    assert "truncated" in failure.reason
    assert result.translations[0] == mark_untranslated(doomed)
    assert result.translations[1] and UNTRANSLATED_MARKER not in result.translations[1]
    assert neighbour not in result.translations[1]
    # Asked for the whole unit, then for ever smaller parts holding the word: one answer per
    # split level, each part shorter than the last, and no more after the last level.
    sent = await sources(fake)
    cut = [s for s in sent if word in s]
    assert len(cut) == MAX_SPLIT_DEPTH + 1
    assert cut[0] == doomed
    # Its attempts count every answer asked for the unit, the parts that fitted included.
    assert failure.attempts == len(sent) - sent.count(neighbour) > len(cut)
    assert all(len(later) < len(earlier) for earlier, later in itertools.pairwise(cut))
    assert sum(c.outcome == "length" for c in calls) == MAX_SPLIT_DEPTH + 1
