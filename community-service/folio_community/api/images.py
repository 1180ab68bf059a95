from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Request, Response, UploadFile

from folio.db import DbSession
from folio.errors import Problem
from folio_community.api.deps import RequiredViewer, images
from folio_community.schemas import ImageUploaded

router = APIRouter(prefix="/api/v1/community/images", tags=["community"])
ImageName = Annotated[str, Path(pattern=r"^[0-9a-f]{32}\.(jpg|png|gif|webp)$")]


@router.post("", response_model=ImageUploaded, status_code=201, summary="Upload an image")
async def upload_image(
    request: Request,
    session: DbSession,
    viewer: RequiredViewer,
    file: Annotated[UploadFile, File()],
) -> ImageUploaded:
    settings = request.app.state.settings
    data = await file.read(settings.max_image_bytes + 1)
    if len(data) > settings.max_image_bytes:
        raise Problem(413, f"File size exceeds maximum of {settings.max_image_bytes} bytes")
    if not data:
        raise Problem(400, "The file is empty")
    service = images(request, session)
    return await service.upload(viewer, data, file.content_type, settings.max_image_pixels)


@router.get("/{name}", summary="An uploaded image", response_class=Response)
async def get_image(request: Request, session: DbSession, name: ImageName) -> Response:
    data, content_type = await images(request, session).open(name)
    return Response(
        data,
        media_type=content_type,
        headers={
            # Names are never reused: the content behind one never changes.
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
