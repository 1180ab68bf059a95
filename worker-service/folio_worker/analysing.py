"""``AnalyseBook``: the analysis pass on a book's beginning, answered to whoever waits.

The same engine as a job's planning (:func:`folio_worker.engine.analysis.analyse_book`):
narration, terms and characters from parallel chunks, then the terms' renderings. The
answer is a reply (request/reply, :mod:`folio.messaging.rpc`), never an event: it goes
to the requester only. A request past its deadline is dropped unanswered (nobody waits),
and the work stops at the deadline too.

A signed-in caller's calls are also written to the usage journal, as theirs (no job), and
left there for its relay to report (``AnalysisCallsRecorded``) besides the reply: a worker
killed mid-analysis, or an analysis past its deadline, sends no reply, and a reply that is
sent is not durable (its requester may have gone). translation-service stores each call
once, by its id, whichever report comes first. An anonymous caller's calls (on their own
key) are recorded nowhere, as before.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from folio.contracts import AnalyseBook, BookAnalysed, BookAnalysisFailed
from folio.messaging import Delivery
from folio.messaging.rpc import past_deadline, reply
from folio.storage import StorageError
from folio_worker.books import read_book
from folio_worker.clients import CredentialsUnavailable
from folio_worker.deps import WorkerDeps
from folio_worker.engine.analysis import AnalysisFailed, analyse_book
from folio_worker.engine.calls import CallCollector, current_collector
from folio_worker.engine.documents import DocumentError
from folio_worker.engine.journal import AnalysisOwner
from folio_worker.engine.languages import detect_language
from folio_worker.engine.segmentation import Unit, plan_segments
from folio_worker.engine.spend import CommandSpend
from folio_worker.llm import LLMDeferred, LLMError
from folio_worker.llm.errors import SpendRefused

log = logging.getLogger(__name__)
# The spend ledger's job for calls of no job (its cap is never set: only the quota counts).
NO_JOB = 0


def leading_units(units: list[Unit], max_chars: int) -> list[Unit]:
    """The units of the book's first ``max_chars`` characters (at least one unit)."""
    taken: list[Unit] = []
    size = 0
    for unit in units:
        if taken and size + len(unit.text) > max_chars:
            break
        taken.append(unit)
        size += len(unit.text) + 2
    return taken


class BookAnalyst:
    def __init__(self, deps: WorkerDeps) -> None:
        self.deps = deps
        self.settings = deps.settings

    async def analyse(self, request: AnalyseBook, delivery: Delivery) -> None:
        if past_deadline(request):
            log.info("analysis request %s dropped: past its deadline", delivery.envelope.message_id)
            return
        # On the deployment's key the caller's daily allowance is checked per call.
        spend = CommandSpend(self.deps.spend, NO_JOB, request.spend) if request.spend else None
        owner = (
            AnalysisOwner(request.owner_id, allowance=request.credentials is None)
            if request.owner_id
            else None
        )
        # The journal's entries are never forgotten here (see the module's docstring).
        collector = CallCollector(
            phase="analysis",
            spend=spend,
            journal=self.deps.journal if owner is not None else None,
            owner=owner,
        )
        token = current_collector.set(collector)
        answer: BookAnalysed | BookAnalysisFailed
        try:
            remaining = (
                (request.deadline - datetime.now(UTC)).total_seconds()
                if request.deadline is not None
                else self.settings.llm_timeout_s
            )
            answer = await asyncio.wait_for(self._analyse(request, collector), max(remaining, 0.1))
        except TimeoutError:
            log.info("analysis request %s: deadline reached", delivery.envelope.message_id)
            return  # the requester has answered 504 already
        except (DocumentError, StorageError) as exc:
            answer = self._failed("unreadable", exc, collector)
        except LLMDeferred as exc:
            answer = self._failed("busy", exc, collector)
        except SpendRefused as exc:
            answer = self._failed("allowance", exc, collector)
        except (LLMError, AnalysisFailed, CredentialsUnavailable) as exc:
            answer = self._failed("provider", exc, collector)
        except Exception:
            # The error's text stays in the logs (it may hold anything).
            log.exception("analysis request %s failed", delivery.envelope.message_id)
            answer = BookAnalysisFailed(
                failure="internal", reason="An internal error stopped the analysis."
            )
        finally:
            current_collector.reset(token)
        await reply(
            self.deps.publisher.broker,
            request,
            delivery.envelope,
            answer,
            producer=self.deps.publisher.producer,
        )

    @staticmethod
    def _failed(failure: str, exc: Exception, collector: CallCollector) -> BookAnalysisFailed:
        reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        return BookAnalysisFailed(
            failure=failure,  # type: ignore[arg-type]
            reason=reason[:2000],
            calls=collector.records,
        )

    async def _analyse(self, request: AnalyseBook, collector: CallCollector) -> BookAnalysed:
        _, document = await read_book(
            self.deps.storage, self.deps.documents, request.upload_key, request.filename
        )
        segments = plan_segments(
            document.blocks,
            segment_size=self.settings.analysis_chunk_size,
            # Units only group the text into chunks here (two or three to a chunk).
            unit_size=min(self.settings.unit_size or 2500, self.settings.analysis_chunk_size),
        )
        units = leading_units(
            [unit for segment in segments for unit in segment.units], request.max_chars
        )
        if not units:
            raise DocumentError("The file contains no text to analyse.")
        text = "\n\n".join(u.text for u in units)
        source_language = request.source_language or document.language or detect_language(text)
        result = await analyse_book(
            units,
            caller=self.deps.clients.caller(
                request.model, request.credentials, scope=request.reuse_scope
            ),
            target_language=request.target_language,
            source_language=source_language,
            chunk_size=self.settings.analysis_chunk_size,
            concurrency=self.settings.analysis_concurrency,
            user_style=None,
            user_glossary=[],
            # "replace" with no user glossary: no rendering calls (the style needs none).
            glossary_mode="seed" if request.render_terms else "replace",
        )
        return BookAnalysed(
            source_language=source_language,
            context=result.context,
            characters_read=len(text),
            calls=collector.records,
        )
