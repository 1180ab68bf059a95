"""Fault injection: per-request ``[[fake:…]]`` markers and configured random fault rates.

Client resilience code (retries, back-off, safety-block handling, JSON repair, timeouts) can
only be tested if the provider misbehaves on demand. Markers make a fault deterministic and
local to one test (``*N`` makes it transient, so retries can succeed); ``FAKE_LLM_FAULTS``
makes faults ambient for benchmarks, seeded so runs repeat.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

MARKER_RE = re.compile(r"\[\[fake:([^\[\]]+?)\]\]")
_COUNT_RE = re.compile(r"^(.*?)\*(\d+)$")

ERROR_FAULTS = ("429", "500", "503")
SIMPLE_FAULTS = (
    "block-prompt",
    "block-candidate",
    "truncate",
    "malformed-json",
    "empty",
    "echo",
    # the answer, then the model goes on and on (far more output than the request's size)
    "ramble",
    # layout faults (see layout.py): paragraph ids and placeholders broken as models do
    "merge-paragraphs",
    "split-paragraph",
    "renumber-paragraphs",
    "drop-placeholder",
    "reorder-placeholders",
)


@dataclass(frozen=True)
class Fault:
    """One fault: ``kind`` plus its parameter (``retry_after`` for 429, ``seconds`` for slow)."""

    kind: str
    retry_after: float | None = None
    seconds: float = 0.0
    name: str = ""  # for ``finish=NAME``: the finish reason Gemini answers with


def parse_fault(spec: str) -> Fault | None:
    """Parse ``429``, ``429:retry=2``, ``500``, ``503``, ``slow=1.5`` or a simple fault name."""
    spec = spec.strip()
    if spec in SIMPLE_FAULTS or spec in ERROR_FAULTS:
        return Fault(spec)
    m = re.fullmatch(r"429:retry=([0-9]*\.?[0-9]+)", spec)
    if m:
        return Fault("429", retry_after=float(m.group(1)))
    m = re.fullmatch(r"slow=([0-9]*\.?[0-9]+)", spec)
    if m:
        return Fault("slow", seconds=float(m.group(1)))
    m = re.fullmatch(r"finish=([A-Z_]+)", spec)
    if m:
        return Fault("finish", name=m.group(1))
    return None


def strip_markers(text: str) -> str:
    """Remove all ``[[fake:…]]`` markers (they are instructions, not content)."""
    return MARKER_RE.sub("", text)


class MarkerCounter:
    """Counts requests per distinct marker string so ``*N`` markers expire after N uses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()

    def active_faults(self, text: str) -> list[Fault]:
        """Faults whose markers occur in ``text`` and are still active; counts this request."""
        faults: list[Fault] = []
        markers = list(dict.fromkeys(m.group(0) for m in MARKER_RE.finditer(text)))
        with self._lock:
            for marker in markers:
                body = marker[len("[[fake:") : -2]
                limit: int | None = None
                cm = _COUNT_RE.match(body)
                if cm:
                    body, limit = cm.group(1), int(cm.group(2))
                fault = parse_fault(body)
                if fault is None:
                    continue
                seen = self._seen.get(marker, 0)
                self._seen[marker] = seen + 1
                if limit is None or seen < limit:
                    faults.append(fault)
        return faults


def parse_configured(spec: str) -> list[tuple[Fault, float]]:
    """Parse ``FAKE_LLM_FAULTS`` (``"429:0.1,500:0.05,slow=2:0.01"``) into (fault, rate)."""
    out: list[tuple[Fault, float]] = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, rate = item.rpartition(":")
        fault = parse_fault(name) if sep else None
        try:
            probability = float(rate)
        except ValueError:
            fault = None
        if fault is None or not 0.0 <= probability <= 1.0:
            raise ValueError(f"bad FAKE_LLM_FAULTS entry: {item!r}")
        out.append((fault, probability))
    return out


class ConfiguredFaults:
    """Random faults at configured rates from one seeded ``random.Random`` (repeatable)."""

    def __init__(self, spec: str, seed: int) -> None:
        self._rates = parse_configured(spec)
        self._seed = seed
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311 - repeatable, not crypto

    def reset(self) -> None:
        with self._lock:
            self._rng = random.Random(self._seed)  # noqa: S311

    def draw(self) -> list[Fault]:
        """Faults hit by this request (one draw per configured fault, in order)."""
        if not self._rates:
            return []
        with self._lock:
            return [fault for fault, rate in self._rates if self._rng.random() < rate]


@dataclass
class FaultPlan:
    """The combined effect of all faults that apply to one request."""

    error: Fault | None = None
    slow_s: float = 0.0
    flags: set[str] = field(default_factory=set)

    @classmethod
    def from_faults(cls, faults: list[Fault]) -> FaultPlan:
        plan = cls()
        for fault in faults:
            if fault.kind in ERROR_FAULTS:
                if plan.error is None:
                    plan.error = fault
            elif fault.kind == "slow":
                plan.slow_s += fault.seconds
            elif fault.kind == "finish":
                plan.flags.add(f"finish:{fault.name}")
            else:
                plan.flags.add(fault.kind)
        return plan


class SourceFaults:
    """Faults set at run time (``POST /_fake/faults``) for requests whose text to translate
    (the last ``<source>`` block) contains a string: one passage fails however its
    neighbours quote it as context, until the fault is removed (``DELETE /_fake/faults``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[tuple[str, Fault]] = []

    def add(self, needle: str, fault: Fault) -> None:
        with self._lock:
            self._faults.append((needle, fault))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def matching(self, source: str) -> list[Fault]:
        with self._lock:
            return [fault for needle, fault in self._faults if needle in source]
