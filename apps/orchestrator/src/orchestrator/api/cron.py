"""The cron input binding's route: start the cycles that are due."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request

from trader_common.contracts import utc_now
from trader_common.ports import ConcurrencyConflictError

from ..adapters.calendars import market_open
from ..adapters.workflow_states import workflow_state
from ..domain.cycle_log import CycleRecord
from ..domain.schedule import StrategySchedule, due_cycles
from .cycles import launch

log = logging.getLogger(__name__)
router = APIRouter(tags=["cycles"], include_in_schema=False)
SLOTS_KEY = "schedule:last-slots"


@router.post("/cycle-cron")
async def on_tick(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    if not settings.strategies or not settings.workflows:
        return {"started": []}
    now = utc_now()
    schedules = [
        StrategySchedule(s.strategy_id, tuple(s.symbols), s.cadence, s.calendar)
        for s in settings.strategies
    ]
    by_id = {s.strategy_id: s for s in settings.strategies}
    state = request.app.state.platform.state
    operations = await request.app.state.operations.current()
    item = await state.get(SLOTS_KEY)
    last: dict[str, str] = dict(item.value) if item else {}
    client = request.app.state.workflow_client
    running = set()
    for strategy_id, cycle_id in last.items():
        current = await workflow_state(client, cycle_id, fetch_payloads=False)
        if current is not None and current.runtime_status.name in ("RUNNING", "PENDING"):
            running.add(strategy_id)
    due = due_cycles(
        now,
        schedules,
        {sid: _slot_of(cid) for sid, cid in last.items()},
        {s.calendar: market_open(s.calendar, now) for s in schedules},
        {s.strategy_id: operations.may_trade(s.strategy_id) for s in schedules},
        running,
    )
    started: list[str] = []
    for cycle in due:
        cycle_id = f"{cycle.strategy_id}-{cycle.slot.strftime('%Y%m%dT%H%M%S')}"
        last[cycle.strategy_id] = cycle_id
        try:  # record the slot first: a tick racing this one sees it and starts nothing
            await state.save(
                SLOTS_KEY, last, etag=item.etag if item else None, must_be_new=item is None
            )
        except ConcurrencyConflictError:
            return {"started": started}
        item = await state.get(SLOTS_KEY)
        await launch(
            request,
            CycleRecord(cycle_id, cycle.strategy_id, cycle.symbols, now),
            now,
            fill_timeout=by_id[cycle.strategy_id].fill_timeout,
        )
        started.append(cycle_id)
    return {"started": started}


def _slot_of(cycle_id: str) -> Any:
    from datetime import UTC, datetime

    stamp = cycle_id.rsplit("-", 1)[-1]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
