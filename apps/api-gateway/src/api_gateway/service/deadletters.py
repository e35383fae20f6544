"""Keeps the most recent dead letters in the state store (bounded, append with ETags)."""

from __future__ import annotations

from trader_common.ports import ConcurrencyConflictError, StateStore

from ..domain.deadletters import DeadLetter

INDEX_KEY = "deadletters"


class DeadLetterLog:
    def __init__(self, state: StateStore, keep: int) -> None:
        self._state = state
        self._keep = keep

    async def record(self, letter: DeadLetter) -> None:
        for _ in range(20):
            item = await self._state.get(INDEX_KEY)
            letters = list(item.value) if item else []
            if any(existing.get("id") == letter.id for existing in letters):
                return  # redelivered: already recorded
            letters.append(letter.model_dump(mode="json"))
            try:
                await self._state.save(
                    INDEX_KEY, letters[-self._keep :], etag=item.etag if item else None
                )
                return
            except ConcurrencyConflictError:
                continue
        raise ConcurrencyConflictError("could not append dead letter after 20 attempts")

    async def recent(self, limit: int) -> list[DeadLetter]:
        item = await self._state.get(INDEX_KEY)
        letters = list(item.value) if item else []
        return [DeadLetter.model_validate(x) for x in reversed(letters[-limit:])]
