"""What the endpoints share: settings, store, hub and codecs, built once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chatserver.config import Settings
from chatserver.files.service import Files
from chatserver.hub import Hub
from chatserver.limits import Limits
from chatserver.protocol import AGENT_FRAMES, VISITOR_FRAMES, Codec
from chatserver.store import Store, now_ms


@dataclass(slots=True)
class Services:
    settings: Settings
    store: Store
    hub: Hub
    visitor_codec: Codec
    agent_codec: Codec
    limits: Limits
    files: Files  # attachments: storage, upload checks, signed URLs (chatserver/files/)

    @classmethod
    def build(
        cls, settings: Settings, redis_url: str, clock: Callable[[], int] | None = None
    ) -> Services:
        store = Store.from_url(redis_url, settings.key_prefix)
        hub = Hub(store, settings, redis_url, clock or now_ms)
        return cls(
            settings=settings,
            store=store,
            hub=hub,
            visitor_codec=Codec(
                VISITOR_FRAMES, settings.max_frame_bytes, settings.max_message_length
            ),
            agent_codec=Codec(AGENT_FRAMES, settings.max_frame_bytes, settings.max_message_length),
            limits=Limits(store, settings, hub.clock),
            files=Files(store, settings, hub.clock),
        )
