"""Engine benchmark: a whole book through the running services, parallel vs strict.

Run from the repository root (with the stack's dependencies installed, e.g. after
``make test`` or ``scripts/setup.sh``)::

    .venv/bin/python -m bench.engine

The fake LLM answers with the latency of a real model scaled down about tenfold (50 ms to
the first token, then 0.2 ms per output character) and pseudo-translates into Korean at
about half the source length. Metamorphosis is translated with the job defaults
(``segment_size`` 15000) twice, side by side in one run: default (parallel) mode and
strict continuity mode, both latency-bound (no requests-per-minute limit); then, on a
stack of its own, default mode under a limit of 15 requests per minute that the fake
enforces with 429 + Retry-After (``rpm15``). Each run starts with empty caches. The script
prints wall time, calls, tokens and the cache-eligible share of input tokens per mode,
the critical-path bound and the ratios, then one JSON line.
"""
