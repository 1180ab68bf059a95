"""The ASGI app the proxy mounts at ``/api/v1/graphql`` (``ApiGateway.local_apps``).

The proxy has already routed, authenticated and rate-limited the request; its scope
carries the verified identity (``folio.identity``) and the internal token signed for it
(``folio.internal_token``), which every upstream call of this request presents.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from folio.logging import request_id_var
from folio_gateway.graphql_api.context import GraphContext
from folio_gateway.graphql_api.loaders import loaders_for
from folio_gateway.graphql_api.schema import Limits, build_schema
from folio_gateway.graphql_api.services import ServiceCalls
from folio_gateway.metrics import GatewayMetrics
from folio_gateway.upstream import Upstreams


class GraphQLApp(GraphQL):
    def __init__(
        self,
        upstreams: Upstreams,
        *,
        limits: Limits,
        timeout_s: float,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        # No IDE page: the API's responses forbid scripts (CSP); any GraphQL client works.
        super().__init__(build_schema(limits), graphql_ide=None, allow_queries_via_get=True)
        self.upstreams = upstreams
        self.timeout_s = timeout_s
        self.metrics = metrics

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Any:
        services = ServiceCalls(
            self.upstreams,
            internal_token=request.scope.get("folio.internal_token"),
            request_id=request_id_var.get(),
            timeout_s=self.timeout_s,
            metrics=self.metrics,
        )
        return GraphContext(
            identity=request.scope.get("folio.identity"),
            services=services,
            loaders=loaders_for(services),
        )


def create_graphql_app(settings: Any, upstreams: Upstreams, metrics: GatewayMetrics) -> GraphQLApp:
    introspection = settings.graphql_introspection
    if introspection is None:
        introspection = settings.environment != "production"
    limits = Limits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        max_cost=settings.graphql_max_cost,
        introspection=introspection,
    )
    return GraphQLApp(
        upstreams, limits=limits, timeout_s=settings.graphql_upstream_timeout_s, metrics=metrics
    )
