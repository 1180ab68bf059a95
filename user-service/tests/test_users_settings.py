"""The admin secret has one name across services; its old user-service name still works."""

from __future__ import annotations

import pytest

from folio_users.settings import UserSettings


@pytest.mark.parametrize(
    ("env", "read"),
    [
        ({"FOLIO_ADMIN_SECRET": "one"}, "one"),  # the gateway's name
        ({"FOLIO_ADMIN_SECRET_KEY": "old"}, "old"),  # the old name, still read
        ({"FOLIO_ADMIN_SECRET": "new", "FOLIO_ADMIN_SECRET_KEY": "old"}, "new"),
    ],
)
def test_the_admin_secret_is_read_as_the_gateway_reads_it(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], read: str
):
    for name in ("FOLIO_ADMIN_SECRET", "FOLIO_ADMIN_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    secret = UserSettings().admin_secret
    assert secret is not None and secret.get_secret_value() == read


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
