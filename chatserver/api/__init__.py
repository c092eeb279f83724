"""The public REST API v1 (see chatserver.api.routes)."""
