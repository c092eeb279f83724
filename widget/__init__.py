"""Static files of the visitor side (served by chatserver.app)."""

from __future__ import annotations
