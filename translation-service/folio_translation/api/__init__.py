"""HTTP routes: parse the request, authorise, call a service. Nothing else (no queries,
no storage). One module per group of routes."""

from fastapi import APIRouter

from folio_translation.api import downloads, jobs, progress

router = APIRouter(prefix="/api/v1")
router.include_router(jobs.router)
router.include_router(progress.router)
router.include_router(downloads.router)

__all__ = ["router"]
