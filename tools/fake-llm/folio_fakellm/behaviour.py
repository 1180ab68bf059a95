"""What real models and servers do besides answering: think, cache prompts, enforce limits.

* **Reasoning models** (DeepSeek-R1, Qwen3, QwQ, o-series, GPT-5, names with ``think`` or
  ``reason``) produce a reasoning text before the answer. It quotes the source, as real
  chains of thought do, so an answer that still carries it is visibly wrong. How it is
  delivered (hidden and only counted, a ``reasoning`` field, or ``<think>`` in the
  content) is the server's business: see :mod:`.flavours`.
* **Prompt caching**: a prompt that shares a prefix of 1024+ tokens with an earlier one of
  the same key reports that prefix as cached, in 128-token steps (OpenAI's rule; the other
  providers report theirs in their own fields).
* **Limits**: with ``FAKE_LLM_RPM_LIMIT`` / ``FAKE_LLM_CONCURRENCY_LIMIT`` a key gets a 429
  with ``Retry-After`` beyond that many requests in any 60 s, or at once.
"""

from __future__ import annotations

import collections
import hashlib
import math
import re
import threading
import time

from folio_fakellm.tokens import estimate_tokens

_REASONING_MODEL = re.compile(
    r"(^|[/:_\-.])(r1|qwen3|qwq|o1|o3|o4|gpt-5|deepseek-reasoner|magistral)|think|reason", re.I
)
CACHE_BLOCK_BYTES = 512  # 128 tokens at the fake's 4 bytes per token
CACHE_MIN_TOKENS = 1024
_MAX_BLOCKS = 200_000


def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING_MODEL.search(model))


def reasoning_text(source: str, target_language: str) -> str:
    """A short chain of thought that quotes the source (deterministic)."""
    words = source.split()
    quoted = " ".join(words[:12])
    names = [w.strip(".,;:!?\"'") for w in words if w[:1].isupper()][:3]
    return (
        f"Okay, the user wants this passage in {target_language}. It starts with "
        f'"{quoted}". The names {", ".join(names) or "in it"} should stay consistent. '
        "I will keep the paragraph breaks and translate every sentence."
    )


class PrefixCache:
    """Which prompt prefixes each key has sent, in 512-byte blocks (hash-chained)."""

    def __init__(self) -> None:
        self._blocks: collections.OrderedDict[bytes, None] = collections.OrderedDict()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._blocks.clear()

    def cached_tokens(self, key: str | None, prompt: str) -> int:
        """Tokens of ``prompt`` found in the cache (0 below 1024), then remember it."""
        data = prompt.encode()
        digest = hashlib.sha256((key or "").encode()).digest()
        chain: list[bytes] = []
        for start in range(0, len(data) - CACHE_BLOCK_BYTES + 1, CACHE_BLOCK_BYTES):
            digest = hashlib.sha256(digest + data[start : start + CACHE_BLOCK_BYTES]).digest()
            chain.append(digest)
        with self._lock:
            hits = 0
            for block in chain:
                if block not in self._blocks:
                    break
                hits += 1
                self._blocks.move_to_end(block)
            for block in chain[hits:]:
                self._blocks[block] = None
            while len(self._blocks) > _MAX_BLOCKS:
                self._blocks.popitem(last=False)
        tokens = hits * CACHE_BLOCK_BYTES // 4
        return tokens if tokens >= CACHE_MIN_TOKENS else 0


class KeyLimits:
    """Requests per minute and concurrent requests per key, answered with a 429 beyond."""

    def __init__(self, rpm: int, concurrency: int) -> None:
        self.rpm = rpm
        self.concurrency = concurrency
        self._arrivals: dict[str, collections.deque[float]] = {}
        self._in_flight: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._arrivals.clear()
            self._in_flight.clear()

    def admit(self, key: str | None) -> float | None:
        """``None`` when admitted (then ``release`` it), else the Retry-After in seconds."""
        name = key or ""
        now = time.monotonic()
        with self._lock:
            if self.concurrency and self._in_flight[name] >= self.concurrency:
                return 1.0
            if self.rpm:
                arrivals = self._arrivals.setdefault(name, collections.deque())
                while arrivals and arrivals[0] <= now - 60.0:
                    arrivals.popleft()
                if len(arrivals) >= self.rpm:
                    return max(1.0, math.ceil(arrivals[0] + 60.0 - now))
                arrivals.append(now)
            self._in_flight[name] += 1
            return None

    def release(self, key: str | None) -> None:
        with self._lock:
            self._in_flight[key or ""] -= 1


def reasoning_tokens(text: str) -> int:
    return estimate_tokens(text) if text else 0
