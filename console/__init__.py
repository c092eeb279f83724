"""The agent console and its login: Starlette routes over Jinja2 templates."""

from __future__ import annotations
