"""HTTP routes of user-service: parse, authorise, call the service."""

from folio_users.api import announcements, users, webhooks

ROUTERS = (users.router, announcements.router, webhooks.router)
