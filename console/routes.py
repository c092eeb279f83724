"""Every console route: sign-in and workspace, the workspace's JSON API, the admin pages,
the supervisors' dashboard."""

from __future__ import annotations

from chatserver.core.states import CLOSED_STATUSES, HANDLED_STATUSES, Status
from console import (
    account_routes,
    admin_articles,
    admin_audit,
    admin_labels,
    admin_mail,
    admin_privacy,
    admin_routes,
    api_routes,
    auth_routes,
    dashboard_routes,
    file_routes,
    help_pages,
    search_routes,
)
from console.common import templates

routes = [
    *auth_routes.routes,
    *api_routes.routes,
    *search_routes.routes,
    *file_routes.routes,
    *admin_routes.routes,
    *admin_mail.routes,
    *admin_audit.routes,
    *admin_privacy.routes,
    *admin_labels.routes,
    *admin_articles.routes,
    *help_pages.routes,
    *account_routes.routes,
    *dashboard_routes.routes,
]


def _names(states: frozenset[Status] | None = None) -> list[str]:
    """State names in the order ``Status`` declares them (every page renders the same)."""
    return [s.value for s in Status if states is None or s in states]


# The conversation states the console's pages and scripts need, from their one definition
# (chatserver.core.states), for every template: agent.html hands the sets to agent.js in data
# attributes (the Content-Security-Policy allows no inline script), so no script keeps a copy.
templates.env.globals["states"] = {
    "all": _names(),
    "handled": _names(HANDLED_STATUSES),
    "closed": _names(CLOSED_STATUSES),
}
