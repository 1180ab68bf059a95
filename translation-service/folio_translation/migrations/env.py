from folio.db.migrations import run_env
from folio_translation.models import metadata

run_env(metadata)
