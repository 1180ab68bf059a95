"""The glossary rendering batches are a plan decision: a latency-bound plan fills the key's
concurrency in one wave with smaller batches, down to a floor; a requests-bound one keeps
its large batches; related names are never split across batches."""

from __future__ import annotations

from folio_worker.engine.batching import (
    MIN_TERMS_PER_BATCH,
    TERMS_PER_BATCH,
    TermBatching,
    term_groups,
)

FAMILY = [
    ("Gregor Samsa", "person"),
    ("Grete Samsa", "person"),
    ("Mrs. Samsa", "person"),
    ("Gregor", "person"),  # a short form of Gregor Samsa: his alias
]


def terms(count: int, *, family: bool = False) -> list[tuple[str, str]]:
    # Made-up names sharing no word: each its own group.
    names = [(f"Zorv{chr(97 + i // 26)}{chr(97 + i % 26)}x", "place") for i in range(count)]
    return [*FAMILY, *names] if family else names


def test_a_latency_bound_plan_with_a_free_key_renders_in_small_batches_down_to_the_floor():
    wide = TermBatching(concurrency=64)
    assert wide.size(90) == MIN_TERMS_PER_BATCH == 8  # 2 a batch would fill 64: the floor
    size, batches = wide.batches(terms(90))
    assert size == 8
    assert len(batches) == 12 and max(map(len, batches)) == 8
    assert sorted(t for b in batches for t in b) == sorted(terms(90))  # every term, once
    # Between the floor and the ceiling: the smallest size that fits one wave.
    assert TermBatching(concurrency=10).size(120) == 12
    assert len(TermBatching(concurrency=10).batches(terms(120))[1]) == 10


def test_a_narrow_key_gets_larger_batches_up_to_the_ceiling():
    assert TermBatching(concurrency=4).size(60) == 15
    size, batches = TermBatching(concurrency=4).batches(terms(60))
    assert (size, len(batches)) == (15, 4)
    # More terms than the ceiling fills in one wave: the ceiling, in several waves.
    size, batches = TermBatching(concurrency=2).batches(terms(90))
    assert size == TERMS_PER_BATCH == 24 and len(batches) == 4


def test_a_requests_bound_plan_keeps_its_large_batches():
    size, batches = TermBatching(120).batches(terms(90))
    assert (size, len(batches)) == (120, 1)
    # A fixed size ignores how many calls could run at once.
    assert TermBatching(24).size(300) == 24


def test_a_family_and_its_aliases_are_never_split_however_small_the_batches():
    assert [len(g) for g in term_groups(terms(3, family=True))] == [4, 1, 1, 1]
    for batching in (TermBatching(concurrency=64), TermBatching(3), TermBatching(24)):
        _, batches = batching.batches(terms(40, family=True))
        [home] = [b for b in batches if ("Gregor Samsa", "person") in b]
        assert set(FAMILY) <= set(home), (batching, home)
    # A group larger than the size is one batch of its own, not cut.
    _, batches = TermBatching(3).batches(terms(5, family=True))
    assert sorted(FAMILY) == sorted(batches[0]) and all(len(b) <= 3 for b in batches[1:])


def test_groups_that_pack_badly_grow_the_size_rather_than_need_a_second_wave():
    # Groups of 5 do not fill batches of 8: 8 groups need 8 batches of 5, not 5 of 8.
    families = [
        (f"{given}{chr(97 + f)} Kov{chr(97 + f)}ar", "person")
        for f in range(8)
        for given in ("Anton", "Bela", "Csilla", "Dora", "Endre")
    ]
    size, batches = TermBatching(concurrency=5).batches(families)
    assert len(batches) <= 5 and size == 10
    for batch in batches:  # each family whole in one batch
        assert len({t.split()[1] for t, _ in batch}) * 5 == len(batch)
