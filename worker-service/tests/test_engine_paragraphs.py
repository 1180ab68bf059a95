"""Paragraphs are aligned by their ids: merged, split or renumbered answers are refused and
asked again, and a unit that never aligns is translated in halves — never dumped in one block."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from folio.contracts import PlannedUnit, UnitPiece
from folio.contracts.providers import ProviderConfig
from folio_devstack.fakellm import running_fake_llm
from folio_worker.assembly import block_translations
from folio_worker.engine.calls import MemoryCache, ModelCaller
from folio_worker.engine.checks import split_paragraphs
from folio_worker.engine.paragraphs import aligned, numbered, strip_ids
from folio_worker.engine.translator import SegmentTranslator
from folio_worker.engine.work import SegmentWork
from folio_worker.llm import LLMClient
from folio_worker.llm.ratelimit import InProcessRateLimiter

PARAGRAPHS = [
    "Gregor woke up one morning and found the room unchanged around him.",
    "His sister knocked twice at the door and called his name softly.",
    "The chief clerk waited in the hall below, tapping his cane on the floor.",
    "Outside, the rain kept falling on the grey roofs of the town.",
    "Nobody in the house said a word about the strange noise that night.",
]


def answer(*paragraphs: str) -> str:
    return "\n\n".join(f'<p id="{k}">{p}</p>' for k, p in enumerate(paragraphs, start=1))


def test_an_aligned_answer_comes_back_in_id_order_without_its_tags() -> None:
    assert aligned(answer("Un.", "Deux.", "Trois."), 3) == ["Un.", "Deux.", "Trois."]
    # lenient on spelling and spacing, a preamble before the first id is not a paragraph
    assert aligned("Voici:\n<p id=1>Un.\n<P id='2'> Deux. </p>", 2) == ["Un.", "Deux."]
    # a blank line inside a paragraph (the model split it) keeps it one paragraph
    assert aligned(answer("Un,\n\nencore.", "Deux."), 2) == ["Un,\nencore.", "Deux."]
    assert numbered(["Alone."]) == "Alone." and aligned("Seul.\n\nSeul aussi.", 1) == [
        "Seul.\nSeul aussi."
    ]
    assert aligned('<p id="1">Seul.</p>', 1) == ["Seul."]


@pytest.mark.parametrize(
    "broken",
    [
        '<p id="1">Un. Deux.</p>\n\n<p id="3">Trois.</p>',  # merged
        answer("Un.", "De", "ux.", "Trois."),  # split and renumbered
        '<p id="0">Un.</p><p id="1">Deux.</p><p id="2">Trois.</p>',  # renumbered
        '<p id="2">Deux.</p><p id="1">Un.</p><p id="3">Trois.</p>',  # reordered
        answer("Un.", "", "Trois."),  # one left empty
        "Un.\n\nDeux.\n\nTrois.",  # right count of blank lines, no ids
    ],
)
def test_an_answer_that_does_not_align_is_refused(broken: str) -> None:
    assert aligned(broken, 3) is None


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[str]:
    async with running_fake_llm(FAKE_LLM_LAYOUT_FAULT_RATE="0") as url:
        yield url


async def translate(
    fake: str, paragraphs: list[str], marker: str = "", *, mode: str = "default"
) -> tuple[list[str], list[dict[str, Any]]]:
    tag = uuid.uuid4().hex[:10]
    text = "\n\n".join(paragraphs)
    text = text.replace("morning", f"morning {marker}") if marker else text
    unit = PlannedUnit(
        index=0,
        text=f"{text} ({tag})",
        pieces=[UnitPiece(block=b, part=0, parts=1) for b in range(len(paragraphs))],
    )
    config = ProviderConfig(
        provider="openai", model="gpt-4o-mini", base_url=fake + "/v1", api_keys=("key-1",)
    )
    async with httpx.AsyncClient() as http:
        client = LLMClient(config, http, limiter=InProcessRateLimiter(), backoff_base_s=0.01)
        translator = SegmentTranslator(ModelCaller(client, MemoryCache()), attempts=3)
        work = SegmentWork(target_language="ko", units=[unit], mode=mode)  # type: ignore[arg-type]
        [translation] = (await translator.translate(work)).translations
        log = (await http.get(fake + "/_fake/requests")).json()
    return split_paragraphs(translation), [r for r in log if tag in r["prompt"]]


async def test_a_good_answer_takes_one_call_and_keeps_every_paragraph(fake: str) -> None:
    paragraphs, calls = await translate(fake, PARAGRAPHS)
    assert len(calls) == 1 and len(paragraphs) == len(PARAGRAPHS)
    assert '<p id="5">' in calls[0]["prompt"] and "<p id" not in "".join(paragraphs)
    assert all("Gregor" not in p for p in paragraphs)  # translated, not copied


@pytest.mark.parametrize("fault", ["merge-paragraphs", "split-paragraph", "renumber-paragraphs"])
async def test_a_misaligned_answer_is_asked_again(fake: str, fault: str) -> None:
    paragraphs, calls = await translate(fake, PARAGRAPHS, f"[[fake:{fault}*1]]")
    assert [c["outcome"] for c in calls] == [fault, "ok"]
    assert len(paragraphs) == len(PARAGRAPHS)


@pytest.mark.parametrize("mode", ["default", "strict"])
async def test_a_unit_that_never_aligns_is_halved_until_it_does(fake: str, mode: str) -> None:
    # The marker sits in paragraph 1 (and in every prompt that quotes it): each answer with
    # two or more paragraphs comes back merged, whatever the engine does.
    paragraphs, calls = await translate(fake, PARAGRAPHS, "[[fake:merge-paragraphs]]", mode=mode)
    assert len(paragraphs) == len(PARAGRAPHS) and all(p.strip() for p in paragraphs)
    assert any(c["outcome"] == "merge-paragraphs" for c in calls)
    assert calls[-1]["outcome"] == "ok"
    # the paragraph order is the source's: the last one translates the last source paragraph
    last = [c for c in calls if c["outcome"] == "ok"][-1]
    assert "Nobody in the house" in last["prompt"].rsplit("<source>", 1)[1]
    assert paragraphs[-1] == split_paragraphs(strip_ids(last["output"]))[-1]


def test_translations_that_do_not_match_their_blocks_never_empty_one() -> None:
    # A heading and two paragraphs translated as one unit, by an older engine that stored
    # whatever the model answered: two paragraphs for three blocks, or four.
    unit = PlannedUnit(
        index=0,
        text="Chapter One\n\nFirst.\n\nSecond.",
        pieces=[UnitPiece(block=b, part=0, parts=1) for b in range(3)],
    )
    fewer = block_translations([(unit, "제1장\n\n첫째. 둘째.")], joiner=" ")
    assert fewer == {0: "제1장", 1: "첫째. 둘째."}  # block 2 keeps its source, none is blank
    more = block_translations([(unit, "제1장\n\n첫째.\n\n둘\n\n째.")], joiner=" ")
    assert more == {0: "제1장", 1: "첫째.", 2: "둘\n째."}


MARKED = [
    "Gregor woke up one <i1>cold</i1> morning and read <a2>the letter</a2>.<n3>1</n3>",
    "His sister knocked <b1>twice</b1> at the door.",
]


@pytest.mark.parametrize("fault", ["drop-placeholder", "reorder-placeholders"])
async def test_an_answer_with_broken_placeholders_is_asked_again(fake: str, fault: str) -> None:
    paragraphs, calls = await translate(fake, MARKED, f"[[fake:{fault}*1]]")
    assert [c["outcome"] for c in calls] == [fault, "ok"]
    assert "4. Tags such as" in calls[0]["prompt"]
    assert [re.findall(r"</?[a-z]\d+/?>", p) for p in paragraphs] == [
        re.findall(r"</?[a-z]\d+/?>", p) for p in MARKED
    ]


async def test_placeholders_that_never_come_back_whole_are_repaired(fake: str) -> None:
    paragraphs, calls = await translate(fake, MARKED, "[[fake:drop-placeholder]]")
    assert [c["outcome"] for c in calls] == ["drop-placeholder"] * 3
    # the fake drops the first pair (<i1>) each time: its words stay, unformatted; the link
    # and the note reference are kept in place
    assert re.findall(r"</?[a-z]\d+/?>", paragraphs[0]) == ["<a2>", "</a2>", "<n3>", "</n3>"]
    assert re.findall(r"</?[a-z]\d+/?>", paragraphs[1]) == ["<b1>", "</b1>"]
