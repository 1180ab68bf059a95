"""HTTP routes: parse the request, authorise, call a service. Nothing else (no queries,
no storage). One module per group of routes."""

from fastapi import APIRouter

from folio_translation.api import (
    analysis,
    content,
    downloads,
    glossary,
    jobs,
    progress,
    schemas_export,
    tasks,
)

router = APIRouter(prefix="/api/v1")
router.include_router(jobs.router)
router.include_router(progress.router)
router.include_router(downloads.router)
router.include_router(content.router)
router.include_router(glossary.router)
router.include_router(schemas_export.router)
router.include_router(tasks.router)
router.include_router(analysis.router)

__all__ = ["router"]
