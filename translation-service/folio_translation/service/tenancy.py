"""Whose finished work a job may reuse: the response cache's answers and the translation
memory's segments are scoped by the job's ``reuse_scope``.

A scope is one owner and one provider: the deployment's own provider, or the user's own
(its kind and endpoint). Nothing a user's provider produced is ever served to another user,
whatever model name or endpoint they give; and since no work is shared between users at
all, a job's cost and speed say nothing about other users' books. The same user's jobs
with the same provider reuse each other's work.
"""

from __future__ import annotations

import hashlib

from folio.contracts import ProviderConfig


def reuse_scope(owner_id: str, provider: ProviderConfig | None) -> str:
    if provider is None:
        parts = ["deployment"]
    else:
        parts = ["own", provider.provider, (provider.base_url or "").rstrip("/")]
    raw = "\0".join(["folio-reuse-v1", owner_id, *parts])
    return hashlib.sha256(raw.encode()).hexdigest()
