"""Image uploads: recognised by their content, size-limited, decoded and re-encoded
(which drops EXIF, GPS and every other metadata block), stored under generated names.

What the client calls the file and what type it declares decide nothing: the decoder
decides. The declared type, when it is an image type, must match what the bytes are.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass

import anyio
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError
from sqlmodel.ext.asyncio.session import AsyncSession

from folio.errors import DomainError, NotFound, TooLarge
from folio.storage import BlobStorage
from folio_community.models import Image
from folio_community.policy import Viewer
from folio_community.repository import ImageRepository
from folio_community.schemas import ImageUploaded
from folio_community.service.posts import IMAGE_PATH

# Pillow format -> (content type, extension)
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
STORAGE_PREFIX = "community-images"


@dataclass(frozen=True)
class Encoded:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def reencode(data: bytes, declared: str | None, max_pixels: int) -> Encoded:
    """Decode fully (so truncated or bomb files fail here), then write a clean copy."""
    PILImage.MAX_IMAGE_PIXELS = max_pixels
    try:
        with PILImage.open(io.BytesIO(data)) as probe:
            kind = probe.format
            probe.verify()
        if kind not in FORMATS:
            raise DomainError(
                f"Invalid image type: {kind or 'unknown'}; use JPEG, PNG, GIF or WebP"
            )
        content_type, extension = FORMATS[kind]
        if declared and declared.startswith("image/") and declared != content_type:
            raise DomainError("File signature doesn't match content type")
        with PILImage.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise TooLarge(f"The image is larger than {max_pixels} pixels")
            animated = getattr(image, "is_animated", False)
            out = io.BytesIO()
            if animated and kind in ("GIF", "WEBP"):
                image.save(out, format=kind, save_all=True, loop=image.info.get("loop", 0))
            else:
                frame = ImageOps.exif_transpose(image)  # keep the orientation, drop EXIF
                if kind == "JPEG":
                    frame.convert("RGB").save(out, format="JPEG", quality=90, optimize=True)
                else:
                    frame.save(out, format=kind)
            width, height = image.size
    except DomainError:
        raise
    except PILImage.DecompressionBombError as exc:
        raise TooLarge(f"The image is larger than {max_pixels} pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DomainError("Invalid image type: the file is not a readable image") from exc
    return Encoded(out.getvalue(), content_type, extension, width, height)


class ImageService:
    def __init__(self, session: AsyncSession, storage: BlobStorage) -> None:
        self.images = ImageRepository(session)
        self.storage = storage

    async def upload(
        self, viewer: Viewer, data: bytes, declared: str | None, max_pixels: int
    ) -> ImageUploaded:
        encoded = await anyio.to_thread.run_sync(reencode, data, declared, max_pixels)
        name = f"{uuid.uuid4().hex}.{encoded.extension}"
        stored = await self.storage.put_bytes(STORAGE_PREFIX, encoded.data, name=name)
        await self.images.add(
            Image(
                name=name,
                storage_key=stored.key,
                uploader_id=viewer.user_id,
                content_type=encoded.content_type,
                size=stored.size,
                width=encoded.width,
                height=encoded.height,
                sha256=hashlib.sha256(encoded.data).hexdigest(),
            )
        )
        return ImageUploaded(
            url=IMAGE_PATH + name,
            filename=name,
            size=stored.size,
            hash=stored.sha256,
            content_type=encoded.content_type,
            width=encoded.width,
            height=encoded.height,
        )

    async def open(self, name: str) -> tuple[bytes, str]:
        image = await self.images.get(name)
        if image is None:
            raise NotFound("Image not found")
        return await self.storage.read_bytes(image.storage_key), image.content_type
