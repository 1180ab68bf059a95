"""The glossary rendering batches: which terms go together, and how many a call gets.

Related terms (sharing a word, like "Gregor Samsa" and "Mr. Samsa", or a short form and its
full name) are one group, and a group is never split: its names are rendered together, so
they agree. Groups are packed, largest first, into batches of about a size the job's plan
decides:

* requests-bound (every call costs a pacing slot): always the plan's large size;
* latency-bound: the smallest size that renders every candidate in one wave of the key's
  concurrency (a call's time grows with its answer, and the slowest batch sits on the
  critical path between the analysis and the translation), held between a floor,
  ``MIN_TERMS_PER_BATCH``, and ``TERMS_PER_BATCH``.

The floor of 8 terms: a batch's own lines (about 130 characters a term: the term, its kind,
an example sentence, its entry in the answer's schema) then outweigh the instructions and
schema every batch repeats (about 750 characters), so the extra calls add about 200 input
tokens each; and its answer (about 14 tokens a term) is no longer than a provider takes to
its first token, so smaller batches would save little time for more calls. Eight terms also
keep several names of a kind (places, titles, a household) in one call, rendered in one
manner. The ceiling is the size every batch had before the plan decided it: a few-wave key
gets it, and no answer grows past it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from folio_worker.engine.families import alias_map, family_key

Term = tuple[str, str]  # (term, kind)

TERMS_PER_BATCH = 24
MIN_TERMS_PER_BATCH = 8


@dataclass(frozen=True)
class TermBatching:
    """``largest`` terms a batch at most (a group larger than that is still one batch);
    ``concurrency``: the calls a latency-bound plan may fill in one wave, or ``None`` for
    batches of ``largest`` (a requests-bound plan, or a fixed size)."""

    largest: int = TERMS_PER_BATCH
    concurrency: int | None = None

    def size(self, terms: int) -> int:
        """The batch size for ``terms`` candidates, before their groups are known (the
        plan's prediction, from the terms it guesses)."""
        if self.concurrency is None:
            return self.largest
        wave = math.ceil(terms / max(1, self.concurrency))
        return min(self.largest, max(MIN_TERMS_PER_BATCH, wave))

    def batches(self, terms: Sequence[Term]) -> tuple[int, list[list[Term]]]:
        """The size used and the batches: the rule's size, grown (up to ``largest``) while
        the groups' packing would take more than one wave."""
        groups = term_groups(terms)
        size = self.size(len(terms))
        batches = pack(groups, size)
        while self.concurrency is not None and len(batches) > self.concurrency:
            if size >= self.largest:
                break
            size += 1
            batches = pack(groups, size)
        return size, batches


def term_groups(terms: Sequence[Term]) -> list[list[Term]]:
    """Terms sharing a family word, or a short form and its name, in one group each;
    largest group first (ties in the terms' order)."""
    parent = list(range(len(terms)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_word: dict[str, int] = {}
    for i, (term, _) in enumerate(terms):
        for word in family_key(term):
            if word in by_word:
                parent[find(i)] = find(by_word[word])
            else:
                by_word[word] = i
    for i, j in alias_map([t for t, _ in terms]).items():
        parent[find(i)] = find(j)
    groups: dict[int, list[Term]] = defaultdict(list)
    for i, term in enumerate(terms):
        groups[find(i)].append(term)
    return sorted(groups.values(), key=len, reverse=True)


def pack(groups: Sequence[Sequence[Term]], size: int) -> list[list[Term]]:
    """Whole groups, in order, into batches of at most ``size`` (a larger group alone)."""
    batches: list[list[Term]] = []
    current: list[Term] = []
    for group in groups:
        if current and len(current) + len(group) > size:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return batches


def term_batches(terms: Sequence[Term], size: int = TERMS_PER_BATCH) -> list[list[Term]]:
    """Batches of at most ``size`` in which related terms stay together."""
    return pack(term_groups(terms), size)
