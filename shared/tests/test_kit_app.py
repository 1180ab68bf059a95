"""The app factory every service uses: no redirects on trailing slashes, HEAD probes."""

from __future__ import annotations

from fastapi import APIRouter

from folio.app import create_service_app
from folio.runtime import ServiceRuntime
from folio.settings import ServiceSettings
from folio_devstack.pytest_plugin import running_app


def make_app():  # type: ignore[no-untyped-def]
    router = APIRouter(prefix="/api/v1")

    @router.get("/things")
    async def things() -> dict[str, str]:
        return {"route": "things"}

    @router.get("/items/")
    async def items() -> dict[str, str]:
        return {"route": "items"}

    @router.post("/things/{thing_id}")
    async def touch(thing_id: int) -> dict[str, int]:
        return {"touched": thing_id}

    runtime = ServiceRuntime(ServiceSettings(service_name="kit-app-test"), use_broker=False)
    return create_service_app(runtime, title="kit", routers=[router])


async def test_a_trailing_slash_is_served_not_redirected():
    async with running_app(make_app()) as client:
        for path, route in (
            ("/api/v1/things", "things"),
            ("/api/v1/things/", "things"),
            ("/api/v1/items/", "items"),
            ("/api/v1/items", "items"),
        ):
            response = await client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            assert response.json() == {"route": route}
        assert (await client.post("/api/v1/things/3/")).json() == {"touched": 3}
        # Other methods still get 405, and unknown paths a 404 problem: no loop, no redirect.
        assert (await client.delete("/api/v1/things/")).status_code == 405
        missing = await client.get("/api/v1/nothing/")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


async def test_health_probes_answer_head():
    async with running_app(make_app()) as client:
        for path in ("/healthz", "/readyz"):
            response = await client.head(path)
            assert response.status_code == 200 and response.content == b""
