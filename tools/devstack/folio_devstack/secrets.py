"""Development secrets, generated on first use into a state directory (``.dev/``).

Nothing secret is committed: each checkout makes its own keys and passwords, and the
state directory is git-ignored.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from folio.identity import generate_ed25519_keypair
from folio_gateway.dev_issuer import generate_rsa_keypair

SCHEMAS = ("translation", "community", "users")


@dataclass(frozen=True)
class DevSecrets:
    internal_private_pem: str
    internal_public_pem: str
    issuer_private_pem: str
    issuer_public_pem: str
    db_passwords: dict[str, str]
    credentials_key: str
    # Clerk's webhook signing secret stand-in (svix format) and the announcements'
    # x-admin-secret, both for user-service.
    webhook_secret: str = ""
    admin_secret: str = ""


def _secret_file(path: Path, generate) -> str:  # type: ignore[no-untyped-def]
    if not path.exists():
        path.write_text(generate())
        path.chmod(0o600)
    return path.read_text().strip()


def _pair(directory: Path, name: str, generate) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    private, public = directory / f"{name}.pem", directory / f"{name}.pub.pem"
    if not private.exists() or not public.exists():
        private_pem, public_pem = generate()
        public.write_text(public_pem)
        private.write_text(private_pem)
        private.chmod(0o600)
    return private.read_text(), public.read_text()


def load_or_create(state_dir: Path) -> DevSecrets:
    keys = state_dir / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o700)
    internal = _pair(keys, "internal-token", generate_ed25519_keypair)
    issuer = _pair(keys, "dev-issuer", generate_rsa_keypair)
    passwords_file = state_dir / "db-passwords.json"
    passwords: dict[str, str] = (
        json.loads(passwords_file.read_text()) if passwords_file.exists() else {}
    )
    if any(schema not in passwords for schema in SCHEMAS):
        for schema in SCHEMAS:
            passwords.setdefault(schema, secrets.token_urlsafe(18))
        passwords_file.write_text(json.dumps(passwords, indent=2))
        passwords_file.chmod(0o600)
    credentials_file = state_dir / "credentials.key"
    if not credentials_file.exists():
        from folio.credentials import generate_key

        credentials_file.write_text(generate_key())
        credentials_file.chmod(0o600)
    import base64

    webhook = _secret_file(
        state_dir / "clerk-webhook.secret",
        lambda: "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
    )
    admin = _secret_file(state_dir / "admin.secret", lambda: secrets.token_urlsafe(24))
    return DevSecrets(
        internal[0],
        internal[1],
        issuer[0],
        issuer[1],
        passwords,
        credentials_file.read_text().strip(),
        webhook,
        admin,
    )
