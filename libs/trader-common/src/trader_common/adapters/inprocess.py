"""In-process adapters: the same ports in one process, no sidecar (backtests, dual-run)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import uuid4

from ..contracts import Event
from ..ports import ConcurrencyConflictError, StateItem

Handler = Callable[[Event], Awaitable[None]]


class InMemoryStateStore:
    """Dict-backed state with ETags and TTLs, honouring the same semantics as the Dapr store."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: dict[str, tuple[Any, str, float | None]] = {}
        self._clock = clock

    async def get(self, key: str) -> StateItem | None:
        found = self._items.get(key)
        if found is None:
            return None
        value, etag, expires = found
        if expires is not None and self._clock() >= expires:
            del self._items[key]
            return None
        return StateItem(key, value, etag)

    async def save(
        self,
        key: str,
        value: Any,
        *,
        etag: str | None = None,
        ttl_seconds: int | None = None,
        must_be_new: bool = False,
    ) -> None:
        current = await self.get(key)
        if must_be_new and current is not None:
            raise ConcurrencyConflictError(f"state {key!r} already exists")
        if etag is not None and (current is None or current.etag != etag):
            raise ConcurrencyConflictError(f"state {key!r} changed since ETag {etag}")
        expires = self._clock() + ttl_seconds if ttl_seconds is not None else None
        self._items[key] = (value, uuid4().hex, expires)

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        current = await self.get(key)
        if current is None:
            return
        if etag is not None and current.etag != etag:
            raise ConcurrencyConflictError(f"state {key!r} changed since ETag {etag}")
        del self._items[key]

    async def get_bulk(self, keys: Sequence[str]) -> dict[str, StateItem]:
        found = {}
        for key in keys:
            item = await self.get(key)
            if item is not None:
                found[key] = item
        return found


class InMemoryEventBus:
    """Publishes to subscribed handlers in order, and keeps every event for inspection."""

    def __init__(self) -> None:
        self.published: list[Event] = []
        self._handlers: dict[str, list[Handler]] = {}

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers.setdefault(topic, []).append(handler)

    async def publish(self, event: Event) -> None:
        self.published.append(event)
        for handler in self._handlers.get(str(event.topic), []):
            await handler(event)

    async def publish_many(self, events: Sequence[Event]) -> None:
        for event in events:
            await self.publish(event)
