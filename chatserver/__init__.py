"""chatserver: a self-hosted live-chat server that never drops a chat."""

from __future__ import annotations

__version__ = "0.1.0"
