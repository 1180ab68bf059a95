"""The analysis pass and the translator against the fake model over HTTP: failures are
retried and reported, glossary renderings are checked after translation, context carries
chapter summaries."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from folio.contracts import GlossaryEntry, PlannedUnit, SegmentContext, UnitPiece
from folio.contracts.providers import ProviderConfig
from folio_worker.engine.analysis import TermBatching, analyse_book
from folio_worker.engine.calls import MemoryCache, ModelCaller
from folio_worker.engine.segmentation import Piece, Unit
from folio_worker.engine.translator import SegmentTranslator
from folio_worker.engine.work import SegmentWork
from folio_worker.llm import LLMClient
from folio_worker.llm.ratelimit import InProcessRateLimiter


@pytest.fixture
async def caller(fake: str) -> AsyncIterator[ModelCaller]:
    async with httpx.AsyncClient(timeout=30) as http:
        config = ProviderConfig(
            provider="openai",
            api_keys=(f"key-{uuid.uuid4().hex}",),
            model="fake-model",
            base_url=fake + "/v1",
        )
        client = LLMClient(
            config,
            http,
            limiter=InProcessRateLimiter(),
            max_attempts=1,
            backoff_base_s=0.01,
            backoff_cap_s=0.02,
        )
        yield ModelCaller(client, MemoryCache())


async def requests(fake: str, tag: str) -> list[dict]:
    async with httpx.AsyncClient() as http:
        rows = (await http.get(fake + "/_fake/requests")).json()
    return [r for r in rows if tag in r["prompt"]]


def units_of(*chapters: list[str]) -> list[Unit]:
    units, block = [], 0
    for chapter, paragraphs in enumerate(chapters):
        for text in paragraphs:
            units.append(Unit(len(units), chapter, (Piece(block, 0, 1, text),)))
            block += 1
    return units


async def test_a_failing_chunk_is_asked_again_then_reported_on_the_job(caller, fake):
    tag = uuid.uuid4().hex[:8]
    good = f"Gregor Samsa looked at Grete ({tag}), and Grete smiled at Gregor Samsa. " * 6
    bad = f"Mother waited in the hall ({tag}) [[fake:500]] and Grete said nothing. " * 6
    result = await analyse_book(
        units_of([good], [bad]),
        caller=caller,
        target_language="ko",
        source_language="en",
        chunk_size=len(good),
        concurrency=4,
        user_style=None,
        user_glossary=[],
        glossary_mode="seed",
    )
    sent = [r for r in await requests(fake, tag) if "[[fake:500]]" in r["prompt"]]
    assert len(sent) == 2  # the failed chunk was asked once more
    assert len(result.context.warnings) == 1
    assert "Part 2 of 2" in result.context.warnings[0]
    assert "could not be analysed" in result.context.warnings[0]
    assert any(g.term == "Gregor Samsa" for g in result.context.glossary)
    assert result.context.chapter_summaries  # the analysed chapter has its summary


async def test_a_glossary_batch_that_keeps_failing_is_asked_again_once_then_named(caller, fake):
    tag = uuid.uuid4().hex[:8]
    names = ["Gregor Samsa", "Grete", "Anna Prokop", "Bartholomew Quill", "Ottilie", "Karl"]
    book = " ".join(
        f"{name} walked to the station ({tag}) and {name} waited by the clock." for name in names
    )
    # Only the rendering request lists a term as "- term (kind): example": the analysis
    # of the chunk, which holds the same name, is answered.
    poison = "- Bartholomew Quill"
    async with httpx.AsyncClient() as http:
        added = await http.post(
            fake + "/_fake/faults", json={"source_contains": poison, "fault": "500"}
        )
        assert added.status_code == 200, added.text
        try:
            result = await analyse_book(
                units_of([book]),
                caller=caller,
                target_language="ko",
                source_language="en",
                chunk_size=len(book) + 1,
                batching=TermBatching(largest=2),
                concurrency=4,
                user_style=None,
                user_glossary=[],
                glossary_mode="seed",
            )
        finally:
            await http.delete(fake + "/_fake/faults")
    sent = [r for r in await requests(fake, "rendering every term below") if tag in r["prompt"]]
    batches = [re.findall(r"^- (.+?) \(", r["prompt"], re.M) for r in sent]
    failed = [b for b, r in zip(batches, sent, strict=True) if "Bartholomew Quill" in b]
    assert len(failed) == 2 and failed[0] == failed[1]  # asked exactly once more
    assert [r["outcome"] for r in sent if poison in r["prompt"]] == ["500", "500"]
    [warning] = result.context.warnings
    assert f"glossary renderings of {len(failed[0])} terms" in warning
    assert all(term in warning for term in failed[0]), (failed[0], warning)
    kept = {g.term for g in result.context.glossary}
    assert not kept & set(failed[0])
    others = {t for b in batches for t in b} - set(failed[0])
    assert others and others <= kept, (others, kept)


def work(text: str, glossary: list[GlossaryEntry], target: str = "ko") -> SegmentWork:
    unit = PlannedUnit(index=0, text=text, pieces=[UnitPiece(block=0, part=0, parts=1)])
    return SegmentWork(
        target_language=target,
        source_language="en",
        units=[unit],
        context=SegmentContext(glossary=glossary, chapter_summary="Gregor wakes up changed."),
    )


GLOSSARY = [
    GlossaryEntry(term="Gregor", translation="그레고르"),
    GlossaryEntry(term="Grete", translation="그레테"),
]


async def test_a_rendering_the_model_leaves_out_is_asked_for_again(caller, fake):
    tag = uuid.uuid4().hex[:8]
    text = f"Gregor looked at Grete ({tag}) [[fake:drop-term*1]] while the rain fell on the roof."
    translator = SegmentTranslator(caller, attempts=3)
    [translation] = (await translator.translate(work(text, GLOSSARY))).translations
    sent = await requests(fake, tag)
    assert [r["outcome"] for r in sent] == ["mistake:drop-term", "ok"]
    assert "did not use these glossary renderings" in sent[1]["prompt"]
    assert "그레고르" in translation and "그레테" in translation
    assert translator.warnings == []
    assert "Gregor wakes up changed." in sent[0]["prompt"]  # the chapter's summary


async def test_a_rendering_still_missing_after_the_retry_is_reported(caller, fake):
    tag = uuid.uuid4().hex[:8]
    text = f"Gregor looked at Grete ({tag}) [[fake:drop-term*2]] while the rain fell on the roof."
    translator = SegmentTranslator(caller, attempts=3)
    [translation] = (await translator.translate(work(text, GLOSSARY))).translations
    assert len(await requests(fake, tag)) == 2  # one targeted retry, no more
    assert translation
    assert len(translator.warnings) == 1
    assert translator.warnings[0].startswith("unit 0: ")
    assert "is not rendered as" in translator.warnings[0]


async def test_a_number_the_model_drops_is_reported_with_the_segment(caller, fake):
    tag = uuid.uuid4().hex[:8]
    text = f"In 1931 ({tag}) [[fake:drop-number*1]] the rain fell on the roof for hours."
    translator = SegmentTranslator(caller, attempts=3)
    result = await translator.translate(work(text, []))
    assert "1931" not in result.translations[0]
    assert translator.warnings == [
        "unit 0: the number(s) 1931 of the source are not in the translation"
    ]


def made_up_names(count: int) -> list[str]:
    return [f"Zor{chr(97 + i // 26)}{chr(97 + i % 26)}ek" for i in range(count)]


async def rendered_batches(caller, fake, batching: TermBatching) -> tuple[int, list[list[str]]]:  # type: ignore[no-untyped-def]
    """The batch size the analysis reports and the rendering calls' term lists, for a book
    of 36 unrelated names and a family (Gregor Samsa, Grete Samsa, Gregor: his short form)."""
    tag = uuid.uuid4().hex[:8]
    family = "Gregor Samsa and Grete Samsa met Mrs. Samsa, and Gregor smiled. "
    chapters = [
        [family + " ".join(f"{n} walked to the station ({tag}) and {n} waited." for n in names)]
        for names in (made_up_names(36)[i : i + 12] for i in (0, 12, 24))
    ]
    result = await analyse_book(
        units_of(*chapters),
        caller=caller,
        target_language="ko",
        source_language="en",
        chunk_size=1_000,
        batching=batching,
        concurrency=64,
        user_style=None,
        user_glossary=[],
        glossary_mode="seed",
    )
    sent = [r for r in await requests(fake, "rendering every term below") if tag in r["prompt"]]
    batches = [re.findall(r"^- (.+?) \(", r["prompt"], re.M) for r in sent]
    return result.terms_per_batch, batches


async def test_the_rendering_batches_follow_the_plan_and_keep_families_whole(caller, fake):
    wide = await rendered_batches(caller, fake, TermBatching(24, concurrency=64))
    narrow = await rendered_batches(caller, fake, TermBatching(24, concurrency=2))
    paced = await rendered_batches(caller, fake, TermBatching(120))
    terms = {t for b in paced[1] for t in b}
    assert len(terms) > 36 and {"Gregor Samsa", "Grete Samsa", "Gregor"} <= terms
    for size, batches in (wide, narrow, paced):
        assert sorted(t for b in batches for t in b) == sorted(terms)  # each term once
        [home] = [b for b in batches if "Gregor Samsa" in b]
        assert {"Grete Samsa", "Gregor"} <= set(home)  # the family is rendered together
        assert max(map(len, batches)) == min(size, len(terms))
    # A free key: batches of the floor, all at once; two calls at a time: two batches;
    # a requests-bound plan: one.
    assert wide[0] == 8 and len(wide[1]) == -(-len(terms) // 8)
    assert narrow[0] == -(-len(terms) // 2) and len(narrow[1]) == 2
    assert paced[0] == 120 and len(paced[1]) == 1
