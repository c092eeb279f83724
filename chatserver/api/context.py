"""What every REST API handler is given, and the error it raises to refuse a request."""

from __future__ import annotations

from dataclasses import dataclass

from chatserver.api_keys import ApiKey
from chatserver.services import Services


class ApiError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True, slots=True)
class Ctx:
    services: Services
    key: ApiKey

    @property
    def site(self) -> str:
        return self.key.site

    def now(self) -> int:
        return self.services.hub.clock()
