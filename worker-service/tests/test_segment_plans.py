"""A segment's plan carries the end of the previous segment and the start of the next: the
context its first and last units are translated with (the units inside a segment see their
own neighbours)."""

from __future__ import annotations

from folio.contracts import JobContext, PlanJob
from folio_worker.engine.documents import parse_document
from folio_worker.engine.segmentation import plan_segments
from folio_worker.engine.translator import build_prompt, unit_requests
from folio_worker.engine.work import SegmentWork
from folio_worker.segment_plans import SEGMENT_NEIGHBOUR, PlanIndexes, build_segment_plans

WORDS = "the rain fell on the long grey roofs of the old town while Gregor waited".split()


def paragraph(n: int) -> str:
    """About 450 characters, each paragraph's words its own (so a tail names its paragraph)."""
    words = [f"{WORDS[k % len(WORDS)]}{n}" for k in range(60)]
    return " ".join(words).capitalize() + "."


def plans_of(paragraphs: list[str]):
    document = parse_document(("\n\n".join(paragraphs)).encode(), "book.txt")
    segments = plan_segments(document.blocks, segment_size=1000, unit_size=500)
    command = PlanJob(
        job_id=1,
        target_language="ko",
        model="fake-model",
        upload_key="k",
        filename="book.txt",
        segment_size=1000,
    )
    built = build_segment_plans(
        command, document, segments, JobContext(), {}, "en", PlanIndexes(segments)
    )
    return segments, built


def test_a_segments_first_unit_gets_the_end_of_the_previous_segment():
    segments, built = plans_of([paragraph(n) for n in range(8)])
    plans = built.plans
    assert len(segments) >= 3 and all(len(s.text) > SEGMENT_NEIGHBOUR for s in segments)
    assert plans[0].context.previous_source == ""
    assert plans[len(segments) - 1].context.next_source == ""
    for i in range(1, len(segments)):
        before = plans[i].context.previous_source
        previous = segments[i - 1].text
        # the end of the previous segment, at most the neighbour's size, from a word's start
        assert before and len(before) <= SEGMENT_NEIGHBOUR
        assert previous.endswith(before)
        assert previous[-len(before) - 1].isspace()
        assert not segments[i].text.startswith(before[:40])  # not this segment's own text

        work = SegmentWork(
            target_language="ko",
            source_language="en",
            units=plans[i].units,
            context=plans[i].context,
        )
        first, *rest = unit_requests(work)
        assert rest  # a segment of several units
        # what the first unit's prompt shows before it is the previous segment's last words
        assert first.previous_source and previous.endswith(first.previous_source)
        prompt = build_prompt(work, first, first.unit.text)
        assert f"<before>\n{first.previous_source}\n</before>" in prompt
        # the segment's other units see the unit before them in the same segment
        for unit_before, request in zip(plans[i].units, rest, strict=False):
            assert unit_before.text.endswith(request.previous_source)
    for i in range(len(segments) - 1):
        after = plans[i].context.next_source
        assert after and segments[i + 1].text.startswith(after)


def test_each_planned_segment_names_its_longest_unit():
    """translation-service sends a window's segments longest unit first, from this."""
    paragraphs = [paragraph(n) for n in range(8)]
    paragraphs[5] = paragraphs[5][:120] + "."  # a short unit among the long ones
    _, built = plans_of(paragraphs)
    assert len({p.longest_unit_chars for p in built.segments}) > 1
    for planned in built.segments:
        units = built.plans[planned.index].units
        assert planned.longest_unit_chars == max(len(u.text) for u in units) > 0
