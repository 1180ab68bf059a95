"""A job's glossary: download it (raw or structured), edit it (merge or replace)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse, Response

from folio.filenames import content_disposition
from folio.identity import CurrentIdentity
from folio_translation.api.deps import Glossary, JobId
from folio_translation.api.downloads import EXPOSED
from folio_translation.service.glossary import raw, structured

router = APIRouter(tags=["jobs"])


def _stem(filename: str) -> str:
    return filename.rsplit(".", 1)[0] if "." in filename else filename


@router.get(
    "/jobs/{job_id}/glossary",
    summary="Download the job's glossary (raw {term: translation}, or structured)",
)
async def download_glossary(
    glossary: Glossary,
    identity: CurrentIdentity,
    job_id: JobId,
    structured_: Annotated[bool, Query(alias="structured")] = False,
) -> Response:
    job, entries = await glossary.read(identity, job_id)
    body: Any = structured(entries).model_dump(mode="json") if structured_ else raw(entries)
    return Response(
        json.dumps(body, ensure_ascii=False, indent=2).encode(),
        media_type="application/json",
        headers={
            "Access-Control-Expose-Headers": EXPOSED,
            "Content-Disposition": content_disposition(f"{_stem(job.filename)}_glossary.json"),
        },
    )


@router.post(
    "/jobs/{job_id}/glossary",
    summary="Edit the glossary of a finished job (merge: new values win; or replace)",
    description=(
        'The body is a JSON object: `{term: translation}` or `{"translations": [{source, '
        "korean}]}`. Later re-translations of the job's segments use the edited glossary."
    ),
)
async def upload_glossary(
    glossary: Glossary,
    identity: CurrentIdentity,
    job_id: JobId,
    payload: Annotated[dict[str, Any], Body()],
    mode: Annotated[str, Query(max_length=10)] = "merge",
    structured_: Annotated[bool, Query(alias="structured")] = True,
) -> JSONResponse:
    _, entries = await glossary.update(identity, job_id, payload, mode)
    body: Any = structured(entries).model_dump(mode="json") if structured_ else raw(entries)
    return JSONResponse(body)
