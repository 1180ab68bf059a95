"""The size of a job's calls follows the provider's limits: under a tight requests-per-
minute limit fewer, larger calls (within a model's output limit), otherwise the small
parallel calls that latency favours; the prediction says why."""

from __future__ import annotations

from folio_worker.engine.call_plan import LARGE_UNIT_CHARS, analysis_chunk, choose
from folio_worker.engine.sizing import UnitSize

METAMORPHOSIS = 139_000


def plan(rpm: int | None, **overrides):  # type: ignore[no-untyped-def]
    settings = {
        "small": UnitSize(2_500, "one_wave"),
        "large": UnitSize(15_000, "segment_size"),
        "chunk_size": 6_000,
        "terms_per_batch": 24,
        "analysed": True,
        "rpm": rpm,
        "concurrency": 64,
    }
    return choose(METAMORPHOSIS, **{**settings, **overrides})


def test_latency_bound_jobs_keep_many_small_parallel_calls() -> None:
    free = plan(None)
    assert free.bound == "latency"
    assert (free.unit_size, free.chunk_size, free.terms_per_batch) == (2_500, 6_000, 24)
    assert free.unit_reason == "one_wave"  # the reason travels with the size
    assert free.calls > 60
    assert plan(10_000) == free  # a generous limit changes nothing


def test_fifteen_requests_a_minute_make_few_large_calls() -> None:
    paced, free = plan(15), plan(None)
    assert paced.bound == "requests"
    assert paced.calls * 4 <= free.calls
    assert paced.unit_size == LARGE_UNIT_CHARS <= 15_000  # one segment, one call
    assert paced.unit_reason == "whole_segment"
    assert paced.public(15).unit_reason == "whole_segment"
    assert paced.chunk_size > free.chunk_size and paced.terms_per_batch > 24
    # What pacing alone costs is in the prediction: a slot every 4 s.
    assert paced.predicted_s >= (paced.calls - 1) * 4
    # Small calls at 15 a minute would take far longer than that.
    small = choose(
        METAMORPHOSIS,
        small=UnitSize(2_500, "one_wave"),
        large=UnitSize(2_500, "segment_size"),  # the plan cannot grow its units
        chunk_size=6_000,
        terms_per_batch=24,
        analysed=True,
        rpm=15,
        concurrency=64,
    )
    assert small.predicted_s > paced.predicted_s


def test_units_never_outgrow_the_segment_and_turbo_jobs_skip_the_analysis() -> None:
    assert plan(15, large=UnitSize(5_000, "segment_size")).unit_size == 5_000
    turbo = plan(15, analysed=False)
    assert turbo.calls == -(-METAMORPHOSIS // turbo.unit_size)


def test_analysis_chunks_hold_a_whole_number_of_units() -> None:
    # Units over half a chunk would leave one unit a chunk: the chunk grows to two.
    assert analysis_chunk(6_000, 3_100) == 2 * 3_102
    assert analysis_chunk(6_000, 2_500) == 6_000  # two or more already fit
    assert analysis_chunk(6_000, 5_000) == 6_000  # one unit a chunk, as large as configured
    assert plan(None, small=UnitSize(3_100, "one_wave")).chunk_size == 6_204
