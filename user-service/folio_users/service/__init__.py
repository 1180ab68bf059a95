"""Business rules of user-service, one module per area; none of them commits."""

from folio_users.service.announcements import AnnouncementService
from folio_users.service.usage import UsageService
from folio_users.service.users import UserService
from folio_users.service.webhooks import ClerkWebhook

__all__ = ["AnnouncementService", "ClerkWebhook", "UsageService", "UserService"]
