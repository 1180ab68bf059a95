from folio.db.migrations import run_env
from folio_community.models import metadata

run_env(metadata)
