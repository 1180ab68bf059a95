"""Gateway benchmark: one DB-backed read served directly, through the gateway and through
nginx, side by side in one run.

Run from the repository root (after ``scripts/setup.sh``)::

    .venv/bin/python -m bench.gateway

It starts translation-service and the gateway on free ports in a fresh database, creates a
job, and configures nginx as a plain reverse proxy in front of the same service (nginx and
wrk are installed with apt-get when missing). Then, in each round and in a rotating order,
wrk calls ``GET /api/v1/jobs/{id}`` for a fixed time on each path:

* directly, with the signed internal identity the gateway would forward;
* through the gateway, with the user's bearer token (the gateway verifies it, signs the
  internal identity, applies the rate limit and proxies);
* through nginx, passing the same internal identity header.

A load phase (``--connections``, 16 by default) measures throughput; a latency phase (one
connection) measures what each hop adds to one request when nothing queues. The script
prints every round, then medians and spreads, and ends with one JSON line.
"""
