from folio.db.migrations import run_env
from folio_users.models import metadata

run_env(metadata)
