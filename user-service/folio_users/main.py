from __future__ import annotations

from fastapi import FastAPI

from folio.app import create_service_app
from folio.runtime import ServiceRuntime
from folio_users import api
from folio_users.models import MESSAGING
from folio_users.settings import UserSettings


def create_app(settings: UserSettings | None = None) -> FastAPI:
    settings = settings or UserSettings()
    runtime = ServiceRuntime(settings, tables=MESSAGING)
    return create_service_app(
        runtime,
        title="Folio user-service",
        description="Users, roles and announcements.",
        routers=[api.router],
    )
