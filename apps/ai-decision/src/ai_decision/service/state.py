"""Read-modify-write on the state store with ETag concurrency, retried on conflicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from trader_common.ports import ConcurrencyConflictError, PlatformUnavailableError, StateStore

T = TypeVar("T")

MAX_ATTEMPTS = 20


async def update(
    state: StateStore,
    key: str,
    change: Callable[[Any | None], tuple[Any, T]],
    *,
    ttl_seconds: int | None = None,
) -> T:
    """Apply ``change(current value) -> (new value, result)`` atomically; returns ``result``.

    A concurrent writer makes the save fail on its ETag and the change is re-applied to the new
    value. ``change`` returning ``None`` as the new value skips the write.
    """
    for _ in range(MAX_ATTEMPTS):
        item = await state.get(key)
        new_value, result = change(None if item is None else item.value)
        if new_value is None:
            return result
        try:
            await state.save(
                key, new_value, etag=None if item is None else item.etag, ttl_seconds=ttl_seconds
            )
        except ConcurrencyConflictError:
            continue
        return result
    raise PlatformUnavailableError(
        f"state {key!r}: gave up after {MAX_ATTEMPTS} conflicting writes; retry later"
    )
