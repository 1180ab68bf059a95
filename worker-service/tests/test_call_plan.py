"""The size of a job's calls follows the provider's limits: under a tight requests-per-
minute limit fewer, larger calls (within a model's output limit), otherwise the small
parallel calls that latency favours; the prediction says why."""

from __future__ import annotations

from folio_worker.engine.batching import TermBatching
from folio_worker.engine.call_plan import (
    LARGE_TERM_BATCH,
    LARGE_UNIT_CHARS,
    analysis_chunk,
    choose,
    predict,
)
from folio_worker.engine.sizing import UnitSize

METAMORPHOSIS = 139_000


def plan(rpm: int | None, **overrides):  # type: ignore[no-untyped-def]
    settings = {
        "small": UnitSize(2_500, "one_wave"),
        "large": UnitSize(15_000, "segment_size"),
        "chunk_size": 6_000,
        "analysed": True,
        "rpm": rpm,
        "concurrency": 64,
    }
    return choose(METAMORPHOSIS, **{**settings, **overrides})


def test_latency_bound_jobs_keep_many_small_parallel_calls() -> None:
    free = plan(None)
    assert free.bound == "latency"
    # About 92 terms guessed: 2 a call would fill 64 at once, so the floor of 8 a call.
    assert (free.unit_size, free.chunk_size, free.terms_per_batch) == (2_500, 6_000, 8)
    assert free.batching == TermBatching(24, concurrency=64)  # sized again once terms are known
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
    assert paced.chunk_size > free.chunk_size and paced.terms_per_batch == LARGE_TERM_BATCH
    assert paced.batching == TermBatching(LARGE_TERM_BATCH)  # whatever the concurrency
    # What pacing alone costs is in the prediction: a slot every 4 s.
    assert paced.predicted_s >= (paced.calls - 1) * 4
    # Small calls at 15 a minute would take far longer than that.
    small = choose(
        METAMORPHOSIS,
        small=UnitSize(2_500, "one_wave"),
        large=UnitSize(2_500, "segment_size"),  # the plan cannot grow its units
        chunk_size=6_000,
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


def test_the_latency_bound_plans_rendering_batches_follow_the_concurrency() -> None:
    wide, narrow = plan(None), plan(None, concurrency=4)
    assert narrow.terms_per_batch == 23 > wide.terms_per_batch  # 92 terms in one wave of 4
    assert plan(None, concurrency=2).terms_per_batch == 24  # the ceiling, in two waves
    # The rendering's own bound (the analysis concurrency) is the one that counts.
    assert plan(None, rendering_concurrency=4).batching == TermBatching(24, concurrency=4)
    assert wide.calls == narrow.calls + 12 - 4  # 12 batches of 8 instead of 4 of 23


def test_predicted_rendering_time_grows_with_the_batch() -> None:
    common = {"unit_size": 2_500, "chunk_size": 6_000, "terms": 96, "analysed": True}
    calls8, small = predict(METAMORPHOSIS, terms_per_batch=8, rpm=None, concurrency=64, **common)
    calls24, large = predict(METAMORPHOSIS, terms_per_batch=24, rpm=None, concurrency=64, **common)
    assert (calls8 - calls24, small < large) == (12 - 4, True)
    # Batches beyond one wave queue: 12 batches at 4 at once are three rendering waves.
    _, queued = predict(METAMORPHOSIS, terms_per_batch=8, rpm=None, concurrency=4, **common)
    _, one_wave = predict(METAMORPHOSIS, terms_per_batch=24, rpm=None, concurrency=4, **common)
    assert queued > one_wave


def test_under_a_tight_limit_a_latency_bound_plan_keeps_fewer_rendering_calls() -> None:
    # At 60 requests a minute the small units still win, but pacing binds: every extra
    # rendering call would cost a slot of 1 s, more than smaller batches save.
    paced = plan(60)
    assert paced.bound == "latency"
    assert paced.batching == TermBatching(24) and paced.terms_per_batch == 24
    assert paced.calls == plan(None).calls - (12 - 4)
    assert paced.predicted_s >= paced.calls - 1  # pacing decides: a slot a second
