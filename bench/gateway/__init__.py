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

Each round has a load phase and a latency phase:

* load: wrk with ``--connections`` (16) for ``--duration`` seconds per target measures
  throughput (and the CPU each process spent per request). The gateway's ratios to direct
  and to nginx are taken within each round, then the median over rounds is reported.
* latency: one keep-alive connection per target, one request at a time, the targets
  taking turns request by request (``--latency-requests`` each), so that what else runs on
  the machine slows all three alike. ``p50_added_ms`` is the gateway's median minus the
  direct median over all rounds (likewise p99): what the hop adds to one request when
  nothing queues. (Under saturating load, latency is just concurrency over throughput.)

The script prints every round, then ends with one JSON line; the full report goes to
``bench/results/gateway.json``. The gateway keeps its rate limits in process, as one
replica does; ``--redis`` shares them through Redis, as replicas do.
"""
