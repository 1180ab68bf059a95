"""Fake LLM server for Folio: deterministic pseudo-translation, schema-valid JSON, faults."""
