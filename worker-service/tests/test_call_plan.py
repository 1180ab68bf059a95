"""The size of a job's calls follows the provider's limits: under a tight requests-per-
minute limit fewer, larger calls (within a model's output limit), otherwise the small
parallel calls that latency favours; the prediction says why."""

from __future__ import annotations

from folio_worker.engine.call_plan import LARGE_UNIT_CHARS, choose

METAMORPHOSIS = 139_000


def plan(rpm: int | None, **overrides):  # type: ignore[no-untyped-def]
    settings = {
        "segment_size": 15_000,
        "unit_size": 2_500,
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
    assert free.calls > 60
    assert plan(10_000) == free  # a generous limit changes nothing


def test_fifteen_requests_a_minute_make_few_large_calls() -> None:
    paced, free = plan(15), plan(None)
    assert paced.bound == "requests"
    assert paced.calls * 4 <= free.calls
    assert paced.unit_size == LARGE_UNIT_CHARS <= 15_000  # one segment, one call
    assert paced.chunk_size > free.chunk_size and paced.terms_per_batch > 24
    # What pacing alone costs is in the prediction: a slot every 4 s.
    assert paced.predicted_s >= (paced.calls - 1) * 4
    # Small calls at 15 a minute would take far longer than that.
    small = choose(
        METAMORPHOSIS,
        segment_size=2_500,  # nothing larger is allowed: the plan cannot grow its units
        unit_size=2_500,
        chunk_size=6_000,
        terms_per_batch=24,
        analysed=True,
        rpm=15,
        concurrency=64,
    )
    assert small.predicted_s > paced.predicted_s


def test_units_never_outgrow_the_segment_and_turbo_jobs_skip_the_analysis() -> None:
    assert plan(15, segment_size=5_000).unit_size == 5_000
    turbo = plan(15, analysed=False)
    assert turbo.calls == -(-METAMORPHOSIS // turbo.unit_size)
