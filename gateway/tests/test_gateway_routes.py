"""The route table: every upstream operation has a home, the placement quirks hold, and
each route's terms (who may call, limits, timeouts) are the ones the frontend needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from folio_gateway.routes import (
    COMMUNITY,
    DEFAULT_ROUTES,
    GATEWAY,
    ROUTES,
    TRANSLATION,
    USERS,
    Auth,
)
from folio_gateway.settings import GatewaySettings

OPERATIONS = json.loads((Path(__file__).parent / "data" / "upstream-operations.json").read_text())[
    "operations"
]


def expected_service(path: str) -> str:
    """DESIGN.md's placement, written independently of the table."""
    area = path.removeprefix("/api/v1/")
    if area.startswith(("community/announcements", "users", "webhooks/clerk")):
        return USERS
    if area.startswith(("community", "admin/posts")):
        return COMMUNITY
    return TRANSLATION


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_upstream_operation_is_routed_to_its_service(operation):
    method, path = operation.split(" ")
    concrete = path.replace("{", "").replace("}", "")  # any segment value will do
    route = DEFAULT_ROUTES.match(method, concrete)
    assert route is not None, operation
    assert route.service == expected_service(path), operation
    assert DEFAULT_ROUTES.service_for(concrete) == route.service


@pytest.mark.parametrize(
    ("method", "path", "service", "auth"),
    [
        ("GET", "/api/v1/community/announcements/stream", USERS, Auth.PUBLIC),
        ("GET", "/api/v1/community/announcements", USERS, Auth.PUBLIC),
        # Changes: the service guards them (admin secret or admin role, as upstream).
        ("POST", "/api/v1/community/announcements", USERS, Auth.PUBLIC),
        ("DELETE", "/api/v1/community/announcements/3", USERS, Auth.PUBLIC),
        ("GET", "/api/v1/community/posts/4", COMMUNITY, Auth.PUBLIC),
        ("POST", "/api/v1/community/posts", COMMUNITY, Auth.USER),
        ("GET", "/api/v1/users/me/token-usage", USERS, Auth.USER),
        # The frontend's anonymous polls...
        ("GET", "/api/v1/jobs/12", TRANSLATION, Auth.PUBLIC),
        ("GET", "/api/v1/tasks/job/12/tasks", TRANSLATION, Auth.PUBLIC),
        ("POST", "/api/v1/analysis/style", TRANSLATION, Auth.PUBLIC),
        ("GET", "/api/v1/illustrations/config", TRANSLATION, Auth.PUBLIC),
        # ...but nothing else about a job, whatever the method.
        ("GET", "/api/v1/jobs", TRANSLATION, Auth.USER),
        ("DELETE", "/api/v1/jobs/12", TRANSLATION, Auth.USER),
        ("GET", "/api/v1/jobs/12/content", TRANSLATION, Auth.USER),
        ("PATCH", "/api/v1/jobs/12", TRANSLATION, Auth.USER),
        ("GET", "/api/v1/tasks/", TRANSLATION, Auth.USER),
        ("POST", "/api/v1/webhooks/clerk", USERS, Auth.PUBLIC),
        ("POST", "/api/v1/graphql", GATEWAY, Auth.PUBLIC),
    ],
)
def test_placement_and_access(method, path, service, auth):
    route = DEFAULT_ROUTES.match(method, path)
    assert route is not None and (route.service, route.auth) == (service, auth)


@pytest.mark.parametrize(
    "path", ["/api/v1/jobsearch", "/api/v1/unknown", "/api/v1", "/healthz", "/api/v1/webhooks/x"]
)
def test_paths_outside_the_table_have_no_route(path):
    assert DEFAULT_ROUTES.match("GET", path) is None


def test_only_announcement_changes_accept_the_admin_secret():
    accepting = {route.pattern for route in ROUTES if route.admin_secret}
    assert accepting == {"/api/v1/community/announcements/**"}
    assert DEFAULT_ROUTES.match("POST", "/api/v1/community/announcements").admin_secret
    assert not DEFAULT_ROUTES.match("GET", "/api/v1/community/announcements").admin_secret


def test_a_trailing_slash_reaches_the_same_route():
    for path in ("/api/v1/community/categories", "/api/v1/jobs/3", "/api/v1/users/me"):
        assert DEFAULT_ROUTES.match("GET", path) is DEFAULT_ROUTES.match("GET", path + "/")


def test_expensive_routes_have_strict_classes_and_streams_no_read_timeout():
    assert DEFAULT_ROUTES.match("POST", "/api/v1/jobs").rate == "job_create"
    assert DEFAULT_ROUTES.match("POST", "/api/v1/analysis/glossary").rate == "analysis"
    assert DEFAULT_ROUTES.match("POST", "/api/v1/illustrations/5/generate").rate == "illustration"
    assert DEFAULT_ROUTES.match("POST", "/api/v1/validate/5").rate == "quality"
    assert DEFAULT_ROUTES.match("POST", "/api/v1/post-edit/5").rate == "quality"
    assert DEFAULT_ROUTES.match("POST", "/api/v1/community/images").rate == "upload"
    assert DEFAULT_ROUTES.match("POST", "/api/v1/jobs").body == "upload"
    assert DEFAULT_ROUTES.match("GET", "/api/v1/jobs/5/events").stream
    assert DEFAULT_ROUTES.match("GET", "/api/v1/community/announcements/stream").stream
    classes = set(GatewaySettings().rate_limits)
    assert {route.rate for route in ROUTES} <= classes


def test_rate_limit_settings_override_one_class_and_keep_the_others():
    settings = GatewaySettings(rate_limits={"default": {"user": "5/second"}})
    assert settings.rate_limits["default"].user == "5/second"
    assert settings.rate_limits["job_create"].user == "10/minute;200/day"


def test_the_frontend_origin_is_allowed():
    settings = GatewaySettings(frontend_origin="https://books.example/")
    assert "https://books.example" in settings.allowed_origins
    assert "http://localhost:3000" in settings.allowed_origins
