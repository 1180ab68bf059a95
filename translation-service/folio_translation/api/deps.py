"""The services a route may ask for (FastAPI dependencies), and shared parameter types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import Field

from folio.db import DbSession
from folio_translation.service import (
    ContentService,
    JobControl,
    JobProgress,
    JobService,
    OutputService,
)
from folio_translation.service.analysis import AnalysisLimits, AnalysisService
from folio_translation.service.export import ExportService
from folio_translation.service.glossary import GlossaryService
from folio_translation.service.logs import LogService
from folio_translation.service.tasks import TaskService
from folio_translation.settings import TranslationSettings

# Job ids are random integers below 2**53 (models.new_job_id); older ids are small.
JobId = Annotated[int, Field(ge=1, le=2**63 - 1)]


def _jobs(request: Request, session: DbSession) -> JobService:
    return JobService(session, request.app.state.job_deps)


def _control(request: Request, session: DbSession) -> JobControl:
    return JobControl(session, request.app.state.job_deps)


def _content(request: Request, session: DbSession) -> ContentService:
    return ContentService(session, request.app.state.database)


def _outputs(request: Request, session: DbSession) -> OutputService:
    return OutputService(session, request.app.state.job_deps, request.app.state.database)


def _export(request: Request, session: DbSession) -> ExportService:
    return ExportService(session, request.app.state.database)


def _logs(request: Request, session: DbSession) -> LogService:
    return LogService(session, request.app.state.storage)


def _glossary(request: Request, session: DbSession) -> GlossaryService:
    return GlossaryService(session, request.app.state.job_deps)


def _analysis(request: Request) -> AnalysisService:
    settings: TranslationSettings = request.app.state.runtime.settings
    limits = AnalysisLimits(
        timeout_s=settings.analysis_timeout_s,
        style_chars=settings.analysis_style_chars,
        max_chars=settings.analysis_max_chars,
        max_upload_bytes=settings.analysis_max_upload_bytes,
    )
    return AnalysisService(
        request.app.state.database, request.app.state.job_deps, request.app.state.rpc, limits
    )


def _tasks(request: Request, session: DbSession) -> TaskService:
    return TaskService(session, request.app.state.job_deps)


def _progress(request: Request) -> JobProgress:
    return request.app.state.job_progress


def _settings(request: Request) -> TranslationSettings:
    return request.app.state.runtime.settings


Jobs = Annotated[JobService, Depends(_jobs)]
Control = Annotated[JobControl, Depends(_control)]
Content = Annotated[ContentService, Depends(_content)]
Outputs = Annotated[OutputService, Depends(_outputs)]
Export = Annotated[ExportService, Depends(_export)]
Logs = Annotated[LogService, Depends(_logs)]
Glossary = Annotated[GlossaryService, Depends(_glossary)]
Analysis = Annotated[AnalysisService, Depends(_analysis)]
Tasks = Annotated[TaskService, Depends(_tasks)]
Progress = Annotated[JobProgress, Depends(_progress)]
Settings = Annotated[TranslationSettings, Depends(_settings)]
