"""The services a route may ask for (FastAPI dependencies), and shared parameter types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import Field

from folio.db import DbSession
from folio_translation.service import JobProgress, JobService, OutputService
from folio_translation.settings import TranslationSettings

JobId = Annotated[int, Field(ge=1, le=2**63 - 1)]


def _jobs(request: Request, session: DbSession) -> JobService:
    return JobService(session, request.app.state.job_deps)


def _outputs(request: Request, session: DbSession) -> OutputService:
    return OutputService(session, request.app.state.job_deps)


def _progress(request: Request) -> JobProgress:
    return request.app.state.job_progress


def _settings(request: Request) -> TranslationSettings:
    return request.app.state.runtime.settings


Jobs = Annotated[JobService, Depends(_jobs)]
Outputs = Annotated[OutputService, Depends(_outputs)]
Progress = Annotated[JobProgress, Depends(_progress)]
Settings = Annotated[TranslationSettings, Depends(_settings)]
