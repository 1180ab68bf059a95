"""Business rules of translation jobs, one module per use case. Callers own the
transaction; nothing here commits.

* ``jobs``: what users ask of their jobs (create, list, read).
* ``job_control``: changing a job that exists (resume, cancel, delete).
* ``content``: a job's text through the API (segments, content).
* ``credentials``: checking a user's own provider before a job is accepted.
* ``access``: who may see which job.
* ``results``: the worker's result events (plan, segment results, assembly).
* ``dispatch``: which segments go to the worker next (window, strict mode, memory, cap).
* ``assembly``: handing the stored translations to the worker to build the outputs.
* ``usage``: what a job's model calls cost, and for whom.
* ``outputs``: which file a download serves.
* ``progress``: following a job's changes for a live stream.

A job changes state only through :mod:`folio_translation.lifecycle`.
"""

from folio_translation.service.access import visible_job
from folio_translation.service.content import ContentService
from folio_translation.service.deps import JobDeps
from folio_translation.service.job_control import DeletedJob, JobControl, Resumption, Selection
from folio_translation.service.jobs import JobOptions, JobService
from folio_translation.service.outputs import Download, OutputService
from folio_translation.service.progress import JobProgress
from folio_translation.service.results import ResultService

__all__ = [
    "ContentService",
    "DeletedJob",
    "Download",
    "JobControl",
    "JobDeps",
    "JobOptions",
    "JobProgress",
    "JobService",
    "OutputService",
    "ResultService",
    "Resumption",
    "Selection",
    "visible_job",
]
