"""The route table: which service serves which ``/api/v1`` path prefix.

Longest prefix wins, and a prefix matches only whole path segments (``/api/v1/jobs``
serves ``/api/v1/jobs/7`` but not ``/api/v1/jobsearch``). Paths are forwarded unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

TRANSLATION, COMMUNITY, USERS = "translation-service", "community-service", "user-service"

ROUTES: tuple[tuple[str, str], ...] = (
    ("/api/v1/jobs", TRANSLATION),
    ("/api/v1/download", TRANSLATION),
    ("/api/v1/export", TRANSLATION),
    ("/api/v1/validate", TRANSLATION),
    ("/api/v1/validation", TRANSLATION),
    ("/api/v1/post-edit", TRANSLATION),
    ("/api/v1/analysis", TRANSLATION),
    ("/api/v1/illustrations", TRANSLATION),
    ("/api/v1/tasks", TRANSLATION),
    ("/api/v1/schemas", TRANSLATION),
    ("/api/v1/community/announcements", USERS),
    ("/api/v1/community", COMMUNITY),
    ("/api/v1/admin/posts", COMMUNITY),
    ("/api/v1/users", USERS),
    ("/api/v1/webhooks/clerk", USERS),
)


@dataclass(frozen=True)
class RouteTable:
    routes: tuple[tuple[str, str], ...]

    def upstream_for(self, path: str) -> str | None:
        best: tuple[str, str] | None = None
        for prefix, upstream in self.routes:
            if path == prefix or path.startswith(prefix + "/"):
                if best is None or len(prefix) > len(best[0]):
                    best = (prefix, upstream)
        return best[1] if best else None


DEFAULT_ROUTES = RouteTable(ROUTES)
