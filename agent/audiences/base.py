"""One interface for every retargeting destination."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

AudienceAction = Literal["add", "remove"]
Member = Mapping[str, str]  # {"email": sha256 hex, "phone": sha256 hex}; either may be missing


class AudienceError(Exception):
    """The destination refused or failed; `retry` says whether trying again later may work."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class Audience(Protocol):
    name: str

    def sync(self, action: AudienceAction, members: Sequence[Member]) -> None:
        """Add or remove these (hashed) people. Raises AudienceError."""
