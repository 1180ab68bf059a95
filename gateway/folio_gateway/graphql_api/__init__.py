"""The gateway's GraphQL read API (``/api/v1/graphql``), resolved through the services'
HTTP APIs with the caller's identity. See docs/gateway.md, "GraphQL"."""

from folio_gateway.graphql_api.app import GraphQLApp, create_graphql_app

__all__ = ["GraphQLApp", "create_graphql_app"]
