"""Every console route: sign-in and workspace, the workspace's JSON API, the admin pages,
the supervisors' dashboard."""

from __future__ import annotations

from console import admin_routes, api_routes, auth_routes, dashboard_routes

routes = [
    *auth_routes.routes,
    *api_routes.routes,
    *admin_routes.routes,
    *dashboard_routes.routes,
]
