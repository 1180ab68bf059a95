"""Sealing user credentials for transport and storage (Fernet: AES-128-CBC + HMAC).

translation-service seals a job's provider configuration with the shared credentials key
before it stores it or puts it in a message; only the worker opens it. The sealed value is
deleted from the job when the job no longer needs it.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from folio.contracts.providers import ProviderConfig


class CredentialsError(Exception):
    pass


def generate_key() -> str:
    return Fernet.generate_key().decode()


class CredentialSealer:
    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError) as exc:
            raise CredentialsError("the credentials key is not a valid Fernet key") from exc

    def seal(self, config: ProviderConfig) -> str:
        return self._fernet.encrypt(config.model_dump_json().encode()).decode()

    def open(self, token: str) -> ProviderConfig:
        try:
            return ProviderConfig.model_validate_json(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise CredentialsError("the sealed credentials cannot be opened") from exc
