"""The read-cache benchmark: community-service's hot public reads with and without the
shared Redis cache, side by side in one run (``python -m bench.cache``).

Two community-service processes run on the same freshly migrated database and broker,
one with ``FOLIO_REDIS_URL`` and one without; a seeded board is read through both in
interleaved rounds (the category overview, a page of a post list anonymously, and the
same page for a signed-in user), and the report gives each one's throughput and latency
and the cached/uncached ratios.
"""
