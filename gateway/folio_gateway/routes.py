"""The route table: which service serves each ``/api/v1`` path, and on what terms.

Each entry names a path pattern (``{name}`` matches one segment; a trailing ``/**``
matches the path and everything below it), optionally the methods it applies to, and:

* the service that serves it (paths are forwarded unchanged);
* who may call it: ``PUBLIC`` (anonymous callers too; a valid token still identifies the
  caller, and the service decides what they may do) or ``USER`` (a verified user, else
  401 at the gateway); ``admin_secret`` routes also accept the upstream's admin secret
  header (checked here, then passed on to the service's own guard);
* the rate-limit class, the body-size class, and how long the service may stay silent
  (``stream`` routes, server-sent events, have no such timeout).

The most specific entry wins: more literal segments over fewer, then an exact pattern over
a ``/**`` one, then a method-specific entry over a method-agnostic one. A trailing slash is
ignored. The table keeps the upstream's placement quirks: announcements live in
user-service under ``/community``, the token-usage dashboard in user-service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

TRANSLATION, COMMUNITY, USERS = "translation-service", "community-service", "user-service"
GATEWAY = "gateway"  # served in the gateway itself (``local``)


class Auth(StrEnum):
    PUBLIC = "public"
    USER = "user"


@dataclass(frozen=True)
class Route:
    pattern: str
    service: str
    methods: frozenset[str] | None = None
    auth: Auth = Auth.USER
    admin_secret: bool = False
    rate: str = "default"
    body: str = "default"  # "default" (settings.max_body_bytes) or "upload"
    timeout_s: float | None = None  # None: settings.upstream_timeout_s
    stream: bool = False
    local: str | None = None  # an app mounted in the gateway, by name
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", _compile(self.pattern))

    @property
    def prefix(self) -> bool:
        return self.pattern.endswith("/**")

    @property
    def template(self) -> str:
        """The pattern as an OpenAPI-like path (metrics and spans name routes by it)."""
        return self.pattern[:-3] if self.prefix else self.pattern

    def specificity(self) -> tuple[int, int, int, int]:
        segments = self.template.strip("/").split("/")
        literal = sum(1 for s in segments if not s.startswith("{"))
        return (literal, 0 if self.prefix else 1, len(segments), 1 if self.methods else 0)

    def allows(self, method: str) -> bool:
        return self.methods is None or method in self.methods


def _compile(pattern: str) -> re.Pattern[str]:
    prefix = pattern.endswith("/**")
    body = pattern[:-3] if prefix else pattern
    parts = []
    for segment in body.strip("/").split("/"):
        parts.append("[^/]+" if segment.startswith("{") else re.escape(segment))
    regex = "/" + "/".join(parts)
    return re.compile(regex + ("(?:/.*)?" if prefix else "") + "/?")


def R(pattern: str, service: str, *methods: str, **options: object) -> Route:
    return Route(pattern, service, frozenset(methods) if methods else None, **options)  # type: ignore[arg-type]


PUBLIC, USER = Auth.PUBLIC, Auth.USER
UPLOAD = {"body": "upload", "rate": "upload", "timeout_s": 120.0}
# Synchronous model calls (analysis, character bases) take long; so do PDFs.
SLOW = 180.0

ROUTES: tuple[Route, ...] = (
    # translation-service: jobs and everything about them
    R("/api/v1/jobs/**", TRANSLATION),
    R("/api/v1/jobs", TRANSLATION, "POST", **{**UPLOAD, "rate": "job_create"}),
    # The upstream frontend polls a job's status without a token; the service answers
    # anonymous callers with a status-only view.
    R("/api/v1/jobs/{job_id}", TRANSLATION, "GET", "HEAD", auth=PUBLIC),
    R("/api/v1/jobs/{job_id}/events", TRANSLATION, "GET", stream=True),
    R("/api/v1/jobs/{job_id}/pdf", TRANSLATION, "GET", timeout_s=SLOW),
    R("/api/v1/jobs/{job_id}/validation", TRANSLATION, "PUT", rate="quality"),
    R("/api/v1/download/**", TRANSLATION, timeout_s=60.0),
    R("/api/v1/export/**", TRANSLATION, timeout_s=SLOW),
    R("/api/v1/validate/**", TRANSLATION, rate="quality"),
    R("/api/v1/validation/**", TRANSLATION),
    R("/api/v1/post-edit/**", TRANSLATION),
    R("/api/v1/post-edit/{job_id}", TRANSLATION, "POST", rate="quality"),
    # Analysis without a job: anonymous with the caller's own key, strictly limited.
    R(
        "/api/v1/analysis/**",
        TRANSLATION,
        auth=PUBLIC,
        rate="analysis",
        body="upload",
        timeout_s=SLOW,
    ),
    R("/api/v1/illustrations/**", TRANSLATION),
    R(
        "/api/v1/illustrations/**",
        TRANSLATION,
        "POST",
        rate="illustration",
        body="upload",
        timeout_s=SLOW,
    ),
    R("/api/v1/illustrations/config", TRANSLATION, "GET", auth=PUBLIC),
    R("/api/v1/tasks/**", TRANSLATION),
    R("/api/v1/tasks/job/{job_id}/tasks", TRANSLATION, "GET", auth=PUBLIC),  # anonymous poll
    R("/api/v1/schemas/**", TRANSLATION, "GET", "HEAD", auth=PUBLIC),
    # community-service: the board
    R("/api/v1/community/**", COMMUNITY),
    R("/api/v1/community/categories/**", COMMUNITY, "GET", "HEAD", auth=PUBLIC),
    R("/api/v1/community/posts/**", COMMUNITY, "GET", "HEAD", auth=PUBLIC),
    R("/api/v1/community/posts/{post_id}/view", COMMUNITY, "POST", auth=PUBLIC),
    R("/api/v1/community/images/**", COMMUNITY, "GET", "HEAD", auth=PUBLIC),
    R("/api/v1/community/images", COMMUNITY, "POST", **UPLOAD),
    R("/api/v1/admin/posts/**", COMMUNITY),
    # user-service: accounts, the dashboard, announcements, the identity provider's hooks
    R("/api/v1/users/**", USERS),
    R("/api/v1/users/me/token-usage", USERS, "GET", "HEAD"),
    # Changes: the admin secret or an admin's role, as the upstream; user-service guards
    # them (and answers 403 with the upstream's words), the gateway checks the secret.
    R("/api/v1/community/announcements/**", USERS, auth=PUBLIC, admin_secret=True),
    R("/api/v1/community/announcements/**", USERS, "GET", "HEAD", auth=PUBLIC),
    R("/api/v1/community/announcements/stream", USERS, "GET", auth=PUBLIC, stream=True),
    R("/api/v1/webhooks/clerk", USERS, "POST", auth=PUBLIC, rate="webhook"),
    # The gateway's own read API (GraphQL), resolved through the services' HTTP APIs.
    R("/api/v1/graphql", GATEWAY, "GET", "POST", auth=PUBLIC, rate="graphql", local="graphql"),
)


class RouteTable:
    """Finds the route of a request: candidates indexed by the segment after ``/api/v1``,
    tried most specific first."""

    def __init__(self, routes: tuple[Route, ...], root: str = "/api/v1") -> None:
        self.routes = routes
        self.root = root
        self._by_area: dict[str, list[Route]] = {}
        for route in sorted(routes, key=Route.specificity, reverse=True):
            area = route.template[len(root) :].strip("/").split("/", 1)[0]
            self._by_area.setdefault(area, []).append(route)

    def match(self, method: str, path: str) -> Route | None:
        if not path.startswith(self.root):
            return None
        rest = path[len(self.root) + 1 :]
        area = rest.split("/", 1)[0]
        for route in self._by_area.get(area, ()):
            if route.allows(method) and route.regex.fullmatch(path):
                return route
        return None

    def service_for(self, path: str) -> str | None:
        """The service that serves ``path``, whatever the method."""
        area = path[len(self.root) + 1 :].split("/", 1)[0]
        for route in self._by_area.get(area, ()):
            if route.regex.fullmatch(path):
                return route.service
        return None

    @property
    def services(self) -> set[str]:
        return {route.service for route in self.routes if route.local is None}


DEFAULT_ROUTES = RouteTable(ROUTES)
