"""A job's glossary: download it (raw, structured, CSV or TSV), edit it (merge or replace)
with any shape an import accepts."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from folio.errors import Problem
from folio.filenames import content_disposition
from folio.identity import CurrentIdentity
from folio_translation import glossary_io, inputs
from folio_translation.api.deps import Glossary, JobId
from folio_translation.api.downloads import EXPOSED
from folio_translation.service.glossary import characters_of, raw, structured

router = APIRouter(tags=["jobs"])


def _stem(filename: str) -> str:
    return filename.rsplit(".", 1)[0] if "." in filename else filename


_MEDIA = {"csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8"}
MAX_GLOSSARY_BODY_BYTES = 2_000_000


@router.get(
    "/jobs/{job_id}/glossary",
    summary="Download the job's glossary (raw {term: translation}, structured, CSV or TSV)",
    description=(
        "`structured=true`: the upstream's structured shape plus every entry's kind, note, "
        "gender and do-not-translate flag, the do-not-translate list and the characters. "
        "`format=csv` or `tsv`: one row per entry (term, translation, kind, note, gender, "
        "do_not_translate), as imports read it."
    ),
)
async def download_glossary(
    glossary: Glossary,
    identity: CurrentIdentity,
    job_id: JobId,
    structured_: Annotated[bool, Query(alias="structured")] = False,
    format: Annotated[Literal["json", "csv", "tsv"] | None, Query()] = None,
) -> Response:
    job, entries = await glossary.read(identity, job_id)
    headers = {"Access-Control-Expose-Headers": EXPOSED}
    if format in _MEDIA:
        body = glossary_io.to_delimited(entries, "\t" if format == "tsv" else ",")
        headers["Content-Disposition"] = content_disposition(
            f"{_stem(job.filename)}_glossary.{format}"
        )
        return Response(body.encode(), media_type=_MEDIA[format], headers=headers)
    data: Any = (
        structured(entries, characters_of(job)).model_dump(mode="json")
        if structured_
        else raw(entries)
    )
    headers["Content-Disposition"] = content_disposition(f"{_stem(job.filename)}_glossary.json")
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2).encode(),
        media_type="application/json",
        headers=headers,
    )


@router.post(
    "/jobs/{job_id}/glossary",
    summary="Edit the glossary of a finished job (merge: new values win; or replace)",
    description=(
        'A JSON body: `{term: translation}`, `{"translations": [{source, korean}]}`, a list '
        'of `{term, translation, kind, note, gender, do_not_translate}`, or `{"terms": '
        '[...], "do_not_translate": [...]}`; or a CSV (`text/csv`) or TSV '
        "(`text/tab-separated-values`) body with a header row. Later re-translations of the "
        "job's segments use the edited glossary."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object", "additionalProperties": True}},
                "text/csv": {"schema": {"type": "string"}},
                "text/tab-separated-values": {"schema": {"type": "string"}},
            },
        }
    },
)
async def upload_glossary(
    glossary: Glossary,
    identity: CurrentIdentity,
    job_id: JobId,
    request: Request,
    mode: Annotated[str, Query(max_length=10)] = "merge",
    structured_: Annotated[bool, Query(alias="structured")] = True,
) -> JSONResponse:
    body = await request.body()
    if len(body) > MAX_GLOSSARY_BODY_BYTES:
        raise Problem(413, "The glossary is larger than 2 MB.")
    incoming = inputs.glossary_body(body, request.headers.get("content-type") or "")
    job, entries = await glossary.update(identity, job_id, incoming, mode)
    data: Any = (
        structured(entries, characters_of(job)).model_dump(mode="json")
        if structured_
        else raw(entries)
    )
    return JSONResponse(data)
