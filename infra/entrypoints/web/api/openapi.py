"""The API's OpenAPI document (``/schema/openapi.json``): its description and how to log in."""

from __future__ import annotations

from litestar import Router
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from infra.entrypoints.web.guards import PUBLIC

#: The name of the bearer scheme that every API route requires (see ``infra.entrypoints.web.api``).
BEARER = "bearer"


def openapi_config() -> OpenAPIConfig:
    """The document's settings; the operations come from the routes themselves."""
    return OpenAPIConfig(
        title="Vangnet API",
        version="1",
        path="/schema",
        # The document is public (it describes the API, no data); mounted by Litestar.
        openapi_router=Router(
            path="/schema", route_handlers=[], include_in_schema=False, opt=PUBLIC
        ),
        render_plugins=[JsonRenderPlugin()],
        description=(
            "Bullying cases of Dutch schools. Bearer access tokens (JWT, RFC 9068) of the "
            "school's identity provider; errors are problem details (RFC 9457)."
        ),
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="JWT",
                    description=(
                        "An access token (typ at+jwt) of the school's identity provider; "
                        "X-Vangnet-Role picks one of the token's roles, X-Vangnet-School the "
                        "school when the provider serves several."
                    ),
                )
            }
        ),
    )
