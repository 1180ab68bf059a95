"""Analysis without a job (the upstream's ``/analysis`` routes): a book's style, glossary
or characters, answered by the worker's engine while the caller waits.

Without a token, only with the caller's own key (the gateway limits these routes
strictly); signed in, the deployment's provider serves callers who bring none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile

from folio.errors import Problem
from folio.identity import Identity, OptionalIdentity
from folio_translation import inputs
from folio_translation.analysis_schemas import (
    CharacterAnalysisResponse,
    GlossaryAnalysisResponse,
    StyleAnalysisResponse,
)
from folio_translation.api.deps import Analysis, Settings
from folio_translation.service.analysis import AnalysisKind, AnalysisRequest

router = APIRouter(prefix="/analysis", tags=["analysis"])
UPLOAD_CHUNK = 256 * 1024


class AnalysisForm:
    """The upstream's multipart fields (all three routes take the same), plus Folio's."""

    def __init__(
        self,
        file: Annotated[UploadFile, File(description="The book: TXT, Markdown, DOCX, EPUB or PDF")],
        api_key: Annotated[
            str | None,
            Form(max_length=500, description="Your key (required without signing in)"),
        ] = None,
        backup_api_keys: Annotated[str | None, Form(max_length=20_000)] = None,
        requests_per_minute: Annotated[int | None, Form(ge=1, le=100_000)] = None,
        model_name: Annotated[str, Form(max_length=200)] = "gemini-flash-lite-latest",
        api_provider: Annotated[str, Form(max_length=20)] = "gemini",
        provider_config: Annotated[str | None, Form(max_length=50_000)] = None,
        # Folio's own options.
        target_language: Annotated[str | None, Form(max_length=35)] = None,
        source_language: Annotated[str | None, Form(max_length=35)] = None,
        api_base_url: Annotated[str | None, Form(max_length=500)] = None,
    ) -> None:
        self.file = file
        self.provider_fields: dict[str, Any] = {
            "api_provider": api_provider,
            "api_key": api_key,
            "backup_api_keys": backup_api_keys,
            "model_name": model_name,
            "api_base_url": api_base_url,
            "requests_per_minute": requests_per_minute,
            "thinking_level": None,
            "provider_config": provider_config,
        }
        self.target_language = target_language
        self.source_language = source_language


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while data := await upload.read(UPLOAD_CHUNK):
        yield data


async def _analyse(
    kind: AnalysisKind,
    analysis: Any,
    settings: Any,
    identity: Identity | None,
    form: AnalysisForm,
) -> Any:
    provider = inputs.parse_provider(**form.provider_fields)
    if provider is None and identity is None:
        raise Problem(
            401,
            "Sign in, or bring your own API key (api_key) to analyse without an account.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request = AnalysisRequest(
        kind=kind,
        target_language=(form.target_language or settings.default_target_language).strip(),
        source_language=(form.source_language or "").strip() or None,
        provider=provider,
    )
    return await analysis.analyse(identity, form.file.filename, _chunks(form.file), request)


Form_ = Annotated[AnalysisForm, Depends()]

# Each route: its kind, the response it answers with, and its summary.
_ROUTES: tuple[tuple[AnalysisKind, Any, str], ...] = (
    (
        "style",
        StyleAnalysisResponse,
        "The narrative style of a book's opening (its first 15,000 characters)",
    ),
    (
        "glossary",
        GlossaryAnalysisResponse,
        "The names and terms of a book, with their translations",
    ),
    (
        "characters",
        CharacterAnalysisResponse,
        "A book's characters and how they speak to each other",
    ),
)


def _route(kind: AnalysisKind, response: Any, summary: str) -> None:
    async def endpoint(
        analysis: Analysis, settings: Settings, identity: OptionalIdentity, form: Form_
    ) -> Any:
        return response.of(await _analyse(kind, analysis, settings, identity, form))

    endpoint.__name__ = f"analyze_{kind}"
    router.add_api_route(
        f"/{kind}",
        endpoint,
        methods=["POST"],
        response_model=response,
        summary=summary,
        # A signed-in caller on the deployment's key whose daily allowance is spent.
        responses={429: {"description": "The daily allowance is used up (problem+json)"}},
    )


for _kind, _response, _summary in _ROUTES:
    _route(_kind, _response, _summary)
