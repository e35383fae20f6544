"""The audit trail in the state store.

``audit:<decision_id>`` holds a decision's record. Per strategy, ``audit-head:<strategy_id>``
counts its decisions and ``audit-slot:<strategy_id>:<n>`` names the n-th: a writer claims a slot
by bumping the count under its ETag, so concurrent writers never overwrite each other's entry.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from trader_common.ports import StateStore

from ..domain.audit import AuditRecord
from .state import update

log = logging.getLogger(__name__)


def record_key(decision_id: UUID) -> str:
    return f"audit:{decision_id}"


def head_key(strategy_id: str) -> str:
    return f"audit-head:{strategy_id}"


def slot_key(strategy_id: str, n: int) -> str:
    return f"audit-slot:{strategy_id}:{n}"


class AuditLog:
    def __init__(self, state: StateStore) -> None:
        self._state = state
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def get(self, decision_id: UUID) -> AuditRecord | None:
        item = await self._state.get(record_key(decision_id))
        if item is None:
            return None
        try:
            return AuditRecord.model_validate(item.value)
        except ValidationError as exc:
            log.error("unreadable audit record", extra={"key": item.key, "reason": str(exc)})
            return None

    async def save(self, record: AuditRecord) -> None:
        """Store ``record``; the first save of a decision also lists it under its strategy."""
        existed = await self._state.get(record_key(record.decision_id)) is not None
        await self._state.save(record_key(record.decision_id), record.model_dump(mode="json"))
        if not existed:
            await self._index(record.strategy_id, record.decision_id)

    async def _index(self, strategy_id: str, decision_id: UUID) -> None:
        def claim(value: Any) -> tuple[Any, int]:
            count = int(value.get("count", 0)) if isinstance(value, dict) else 0
            return {"count": count + 1}, count

        async with self._locks[strategy_id]:
            slot = await update(self._state, head_key(strategy_id), claim)
        await self._state.save(slot_key(strategy_id, slot), str(decision_id))

    async def count(self, strategy_id: str) -> int:
        item = await self._state.get(head_key(strategy_id))
        return int(item.value.get("count", 0)) if item and isinstance(item.value, dict) else 0

    async def recent(self, strategy_id: str, limit: int) -> list[AuditRecord]:
        """The strategy's last ``limit`` decisions, newest first."""
        count = await self.count(strategy_id)
        slots = range(count - 1, max(-1, count - 1 - limit), -1)
        items = await asyncio.gather(*(self._state.get(slot_key(strategy_id, n)) for n in slots))
        ids: list[UUID] = []
        for item in items:
            if item is None:
                continue  # a slot claimed by a writer that stopped before naming it
            try:
                ids.append(UUID(str(item.value)))
            except ValueError:
                log.error("unreadable audit index slot", extra={"key": item.key})
        records = await asyncio.gather(*(self.get(i) for i in ids))
        return [r for r in records if r is not None]
