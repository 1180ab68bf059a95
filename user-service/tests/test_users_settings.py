"""The admin secret has one name across services; its old user-service name still works."""

from __future__ import annotations

import pytest

from folio_users.settings import UserSettings


def test_the_admin_secret_is_read_as_the_gateway_reads_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FOLIO_ADMIN_SECRET_KEY", raising=False)
    monkeypatch.setenv("FOLIO_ADMIN_SECRET", "one-secret")
    settings = UserSettings()
    assert settings.admin_secret is not None
    assert settings.admin_secret.get_secret_value() == "one-secret"


def test_the_old_name_is_still_read_and_the_new_one_wins(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FOLIO_ADMIN_SECRET", raising=False)
    monkeypatch.setenv("FOLIO_ADMIN_SECRET_KEY", "old-name")
    settings = UserSettings()
    assert settings.admin_secret is not None
    assert settings.admin_secret.get_secret_value() == "old-name"
    monkeypatch.setenv("FOLIO_ADMIN_SECRET", "new-name")
    settings = UserSettings()
    assert settings.admin_secret is not None
    assert settings.admin_secret.get_secret_value() == "new-name"


async def test_announcement_changes_take_the_configured_secret(service, as_user):
    app, client = service
    secret = app.state.settings.admin_secret.get_secret_value()
    path = "/api/v1/community/announcements"
    reader = as_user("reader")
    wrong = await client.post(
        path, json={"message": "no"}, headers={**reader, "x-admin-secret": secret + "x"}
    )
    assert wrong.status_code == 403, wrong.text
    right = await client.post(
        path,
        json={"message": "yes", "is_active": False},
        headers={**reader, "x-admin-secret": secret},
    )
    assert right.status_code == 201, right.text
