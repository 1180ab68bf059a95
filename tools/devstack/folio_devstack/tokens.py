"""Development bearer tokens, signed by the development issuer's key in ``.dev/``."""

from __future__ import annotations

from pathlib import Path

from folio_devstack.secrets import load_or_create
from folio_gateway.dev_issuer import mint_token


def mint_dev_token(
    state_dir: Path,
    user_id: str,
    *,
    admin: bool = False,
    ttl_s: int = 86400,
    role: str | None = "user",
    name: str | None = None,
    email: str | None = None,
) -> str:
    secrets = load_or_create(state_dir)
    return mint_token(
        secrets.issuer_private_pem,
        secrets.issuer_public_pem,
        user_id,
        admin=admin,
        ttl_s=ttl_s,
        role=role,
        name=name,
        email=email,
    )
