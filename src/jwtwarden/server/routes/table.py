"""Every route of the server, in matching order: the hottest first (token, JWKS, login,
introspection). The routes go straight onto the app's router: FastAPI's ``include_router``
matching costs tens of microseconds more per request, growing with every route tried before
the match (docs/benchmarks-server.md)."""

from __future__ import annotations

from typing import Any

from .account import router as account_routes
from .account_api import router as account_api_routes
from .account_manage import router as account_manage_routes
from .account_pages import router as account_page_routes
from .admin import router as admin_routes
from .admin_clients import router as admin_client_routes
from .admin_users import router as admin_user_routes
from .auth import router as auth_routes
from .authorize import router as authorize_routes
from .discovery import metadata_routes
from .discovery import router as discovery_routes
from .end_session import router as end_session_routes
from .oauth import router as oauth_routes
from .oidc import openid_configuration_routes
from .oidc import router as oidc_routes

__all__ = ["all_routes"]

_ROUTERS = (
    oauth_routes,
    discovery_routes,
    auth_routes,
    authorize_routes,
    account_routes,
    oidc_routes,
    end_session_routes,
    admin_routes,
    admin_client_routes,
    admin_user_routes,
    account_api_routes,
    account_page_routes,
    account_manage_routes,
)


def all_routes(issuer: str) -> list[Any]:
    """The routes, then the metadata documents at the paths ``issuer`` gives them."""
    routes = [route for router in _ROUTERS for route in router.routes]
    return [*routes, *metadata_routes(issuer), *openid_configuration_routes(issuer)]
