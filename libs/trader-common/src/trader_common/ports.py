"""Ports every app may need from its platform. Dapr adapters and in-process adapters implement
them; services depend only on these Protocols."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .contracts import Event


@dataclass(frozen=True, slots=True)
class StateItem:
    key: str
    value: Any
    etag: str | None


class ConcurrencyConflictError(RuntimeError):
    """A write with an ETag lost against a concurrent writer."""


class PlatformUnavailableError(RuntimeError):
    """The sidecar or one of its components could not serve the call."""


class EventPublisher(Protocol):
    async def publish(self, event: Event) -> None: ...

    async def publish_many(self, events: Sequence[Event]) -> None: ...


class StateStore(Protocol):
    async def get(self, key: str) -> StateItem | None: ...

    async def save(
        self,
        key: str,
        value: Any,
        *,
        etag: str | None = None,
        ttl_seconds: int | None = None,
        must_be_new: bool = False,
    ) -> None:
        """Write ``value``. With ``etag``: only if the key is still at that ETag. With
        ``must_be_new``: only if the key does not exist. Else ``ConcurrencyConflictError``."""
        ...

    async def delete(self, key: str, *, etag: str | None = None) -> None: ...


class BulkStateStore(StateStore, Protocol):
    async def get_bulk(self, keys: Sequence[str]) -> dict[str, StateItem]: ...


class ServiceInvoker(Protocol):
    async def invoke(
        self, app_id: str, method: str, *, http_method: str = "GET", body: Any = None
    ) -> tuple[int, Any]: ...


class SecretSource(Protocol):
    """Where credentials come from (the Dapr secret store: adapters/secrets.py)."""

    async def get(self, name: str) -> str | None:
        """The secret ``name`` (e.g. ``alpaca:api-key``), or ``None`` when it is not set."""
        ...
