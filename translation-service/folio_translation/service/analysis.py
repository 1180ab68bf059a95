"""Analysis without a job (``/analysis/style|glossary|characters``).

The upload is stored for the worker to read (like a job's), the caller's own provider is
checked live and sealed, and the worker's engine answers over request/reply; the upload
is removed as soon as the answer (or the deadline) is in. A signed-in caller may use the
deployment's provider, and their usage is recorded (in its own transaction, as soon as
the answer is in: calls are billed even when the analysis then fails); an anonymous caller
must bring a key (the API enforces it).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from folio.contracts import (
    AnalyseBook,
    BookAnalysed,
    BookAnalysisFailed,
    ProviderConfig,
    SpendLimits,
)
from folio.db import Database
from folio.errors import (
    InvalidInput,
    QuotaExceeded,
    TimedOut,
    TooLarge,
    Unavailable,
    UnsupportedType,
    UpstreamFailed,
)
from folio.filenames import display_filename, extension
from folio.identity import Identity
from folio.messaging.rpc import RpcClient, RpcTimeout
from folio.storage import BlobTooLarge, StorageError
from folio_translation.service.deps import JobDeps
from folio_translation.service.jobs import SUPPORTED_EXTENSIONS
from folio_translation.service.usage import (
    UsageLedger,
    allowance_renewal,
    daily_quota,
    refuse_if_allowance_spent,
)

log = logging.getLogger(__name__)

AnalysisKind = Literal["style", "glossary", "characters"]
# The upstream's words when an analysis fails.
FAILURE_PREFIX = {
    "style": "Failed to analyze style",
    "glossary": "Failed to extract glossary",
    "characters": "Failed to analyze characters",
}


@dataclass(frozen=True)
class AnalysisLimits:
    timeout_s: float
    style_chars: int
    max_chars: int
    max_upload_bytes: int


@dataclass(frozen=True)
class AnalysisRequest:
    kind: AnalysisKind
    target_language: str
    source_language: str | None = None
    provider: ProviderConfig | None = None


def reuse_scope(identity: Identity | None, provider: ProviderConfig | None) -> str:
    """Whose cached answers an analysis may reuse: the signed-in caller's, or (anonymous)
    those made with the same keys; and only with the same provider."""
    who = f"user:{identity.user_id}" if identity is not None else "anonymous"
    if provider is None:
        via = "deployment"
    else:
        via = "|".join([provider.provider, provider.base_url or "", *sorted(provider.key_ids())])
    return hashlib.sha256(f"analysis\0{who}\0{via}".encode()).hexdigest()


class AnalysisService:
    def __init__(
        self, database: Database, deps: JobDeps, rpc: RpcClient, limits: AnalysisLimits
    ) -> None:
        self.database = database
        self.deps = deps
        self.rpc = rpc
        self.limits = limits

    async def analyse(
        self,
        identity: Identity | None,
        raw_filename: str | None,
        chunks: AsyncIterator[bytes],
        request: AnalysisRequest,
    ) -> BookAnalysed:
        filename = display_filename(raw_filename)
        ext = extension(filename)
        if ext not in SUPPORTED_EXTENSIONS:
            raise UnsupportedType(
                f"Unsupported file type {ext or '(none)'!r}; "
                f"supported: {', '.join(SUPPORTED_EXTENSIONS)}."
            )
        credentials = None
        model = self.deps.default_model
        spend = None
        if request.provider is not None:
            if self.deps.sealer is None:
                raise InvalidInput("This deployment does not accept user API keys.")
            if self.deps.checker is not None:
                await self.deps.checker.check(request.provider)
            credentials = self.deps.sealer.seal(request.provider)
            model = request.provider.model
        elif identity is not None and self.deps.daily_tokens:
            # The deployment's own key: paid against the caller's daily allowance,
            # refused up front once it is spent, and checked by the worker per call.
            async with self.database.transaction() as session:
                await refuse_if_allowance_spent(session, identity.user_id, self.deps.daily_tokens)
            spend = SpendLimits(quota=daily_quota(identity.user_id, self.deps.daily_tokens))
        try:
            blob = await self.deps.storage.put_stream(
                "analysis", chunks, max_bytes=self.limits.max_upload_bytes
            )
        except BlobTooLarge as exc:
            raise TooLarge(f"The file is too large; the limit is {exc.limit} bytes.") from exc
        try:
            if blob.size == 0:
                raise InvalidInput("The uploaded file is empty.")
            answer = await self._ask(
                identity,
                AnalyseBook(
                    upload_key=blob.key,
                    filename=filename,
                    target_language=request.target_language,
                    source_language=request.source_language,
                    model=model,
                    credentials=credentials,
                    max_chars=self._chars(request.kind),
                    render_terms=request.kind != "style",
                    owner_id=identity.user_id if identity else None,
                    reuse_scope=reuse_scope(identity, request.provider),
                    spend=spend,
                ),
                request.kind,
            )
        finally:
            await self._discard(blob.key)
        return answer

    def _chars(self, kind: AnalysisKind) -> int:
        return self.limits.style_chars if kind == "style" else self.limits.max_chars

    async def _ask(
        self, identity: Identity | None, command: AnalyseBook, kind: AnalysisKind
    ) -> BookAnalysed:
        try:
            answer = await self.rpc.request(command, timeout_s=self.limits.timeout_s)
        except RpcTimeout as exc:
            raise TimedOut(
                f"The analysis did not finish within {self.limits.timeout_s:.0f} seconds; "
                "try a shorter file or again later."
            ) from exc
        calls = getattr(answer, "calls", None)
        if identity is not None and calls:
            async with self.database.transaction() as session:
                await UsageLedger(session, self.deps.outbox).record_analysis(
                    identity.user_id, calls, allowance=command.credentials is None
                )
        if isinstance(answer, BookAnalysed):
            return answer
        if not isinstance(answer, BookAnalysisFailed):
            raise UpstreamFailed(f"{FAILURE_PREFIX[kind]}: unexpected answer.")
        detail = f"{FAILURE_PREFIX[kind]}: {answer.reason}"
        if answer.failure == "unreadable":
            raise InvalidInput(detail)
        if answer.failure == "busy":
            raise Unavailable(detail)
        if answer.failure == "allowance":
            raise QuotaExceeded(detail, headers={"Retry-After": str(allowance_renewal()[1])})
        raise UpstreamFailed(detail)

    async def _discard(self, key: str) -> None:
        try:
            await self.deps.storage.delete(key)
        except StorageError:
            log.warning("could not delete the analysed upload %s", key)
