"""The cycle log behind GET /cycles and the `make run` console: recorded when a cycle starts,
completed once its workflow has ended, with the orders the engine holds for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orchestrator.domain.cycle_log import (
    CycleRecord,
    OrderOutcome,
    WorkflowSnapshot,
    add_started,
    select,
    snapshot_status,
)
from orchestrator.main import create_app
from orchestrator.service.cycles import LOG_KEY, UNKNOWN_GRACE, CycleLog
from orchestrator.settings import OrchestratorSettings
from trader_common.adapters.inprocess import InMemoryStateStore
from trader_common.ports import PlatformUnavailableError

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def record(n: int, at: datetime | None = None) -> CycleRecord:
    return CycleRecord(f"momo-{n}", "momo", ("AAPL", "MSFT"), at or T0 + timedelta(minutes=n))


def engine_order(cycle_id: str, symbol: str, status: str, at: datetime) -> dict[str, Any]:
    return {
        "order_id": f"id-{cycle_id}-{symbol}",
        "client_order_id": f"{cycle_id}:{symbol}",
        "symbol": symbol,
        "side": "buy",
        "qty": "10",
        "status": status,
        "filled_qty": "10" if status == "filled" else "0",
        "avg_fill_price": "101.5" if status == "filled" else None,
        "created_at": at.isoformat(),
    }


class FakeWorkflows:
    def __init__(self) -> None:
        self.snapshots: dict[str, WorkflowSnapshot] = {}
        self.asked: list[str] = []
        self.unavailable = False

    async def snapshot(self, cycle_id: str) -> WorkflowSnapshot | None:
        self.asked.append(cycle_id)
        if self.unavailable:
            raise PlatformUnavailableError("workflow state: StatusCode.UNAVAILABLE")
        return self.snapshots.get(cycle_id)


class FakeEngine:
    """The trading engine's GET /orders as the service invoker reaches it."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.down = False

    async def invoke(
        self, app_id: str, method: str, *, http_method: str = "GET", body: Any = None
    ) -> tuple[int, Any]:
        self.calls.append(method)
        if self.down:
            raise PlatformUnavailableError("could not reach app 'trading-engine'")
        return 200, list(reversed(self.orders))  # newest first, as the engine lists them


@pytest.fixture
def workflows() -> FakeWorkflows:
    return FakeWorkflows()


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def state() -> InMemoryStateStore:
    return InMemoryStateStore()


class Clock:
    def __init__(self) -> None:
        self.at = T0 + timedelta(hours=1)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cycles(
    clock: Clock, state: InMemoryStateStore, workflows: FakeWorkflows, engine: FakeEngine
) -> CycleLog:
    return CycleLog(state, workflows, engine, "trading-engine", clock.now, keep=3)


def completed(at: datetime, orders: list[str], canceled: tuple[str, ...] = ()) -> WorkflowSnapshot:
    return WorkflowSnapshot(
        "completed", at, {"decisions": 2, "orders": orders, "canceled": list(canceled)}, None
    )


# --- domain ---------------------------------------------------------------------------------------


def test_add_started_same_cycle_twice_keeps_one_record() -> None:
    log = add_started([], record(1))
    assert add_started(log, record(1)) == log


def test_add_started_beyond_keep_drops_the_oldest() -> None:
    log: list[CycleRecord] = []
    for n in (3, 1, 2, 4):
        log = add_started(log, record(n), keep=3)
    assert [r.cycle_id for r in log] == ["momo-2", "momo-3", "momo-4"]


def test_select_since_returns_later_cycles_oldest_first_up_to_limit() -> None:
    log = [record(n) for n in (1, 2, 3, 4)]
    chosen = select(log, since=T0 + timedelta(minutes=2), limit=2)
    assert [r.cycle_id for r in chosen] == ["momo-3", "momo-4"]


@pytest.mark.parametrize(
    ("runtime", "status"),
    [("COMPLETED", "completed"), ("FAILED", "failed"), ("TERMINATED", "terminated")]
    + [(name, "running") for name in ("RUNNING", "PENDING", "SUSPENDED", "STALLED")],
)
def test_snapshot_status_runtime_name_maps_to_log_status(runtime: str, status: str) -> None:
    assert snapshot_status(runtime) == status


def test_cycle_record_finished_round_trips_through_json() -> None:
    order = OrderOutcome.from_engine(engine_order("momo-1", "AAPL", "filled", T0))
    done = record(1).finish(completed(T0 + timedelta(minutes=1, seconds=3), ["x"]), [order])
    again = CycleRecord.from_json(done.to_json())
    assert again == done
    assert done.to_json()["duration_seconds"] == 3.0
    assert again.orders[0].avg_fill_price == Decimal("101.5")


def test_cycle_record_workflow_gone_counts_as_failed_with_reason() -> None:
    done = record(1).finish(None, [])
    assert (done.status, done.error) == (
        "failed",
        "the workflow runtime has no record of this cycle",
    )


# --- service --------------------------------------------------------------------------------------


async def test_cycle_log_completed_cycle_records_engine_orders_once(
    cycles: CycleLog, workflows: FakeWorkflows, engine: FakeEngine
) -> None:
    one = record(1)
    await cycles.started(one)
    ended = one.started_at + timedelta(seconds=4)
    engine.orders = [
        engine_order("momo-0", "AAPL", "filled", one.started_at - timedelta(minutes=1)),
        engine_order("momo-1", "AAPL", "filled", one.started_at + timedelta(seconds=1)),
        engine_order("momo-1", "MSFT", "canceled", one.started_at + timedelta(seconds=1)),
    ]
    workflows.snapshots["momo-1"] = completed(ended, ["a", "b"], ("b",))

    [first] = await cycles.recent()
    [again] = await cycles.recent()

    assert first == again
    assert (first.status, first.decisions, len(first.orders), first.filled, first.canceled) == (
        "completed",
        2,
        2,
        1,
        1,
    )
    assert [o.symbol for o in first.orders] == ["AAPL", "MSFT"]
    assert first.duration_seconds == 4.0
    assert workflows.asked == ["momo-1"]  # ended cycles are not looked up again
    assert len(engine.calls) == 1
    assert engine.calls[0].startswith("orders?after=2026-11-24T15%3A00%3A55")


async def test_cycle_log_running_cycle_stays_running_without_asking_the_engine(
    cycles: CycleLog, workflows: FakeWorkflows, engine: FakeEngine
) -> None:
    await cycles.started(record(1))
    workflows.snapshots["momo-1"] = WorkflowSnapshot("running", T0, None, None)

    [running] = await cycles.recent()

    assert running.status == "running"
    assert running.finished_at is None
    assert engine.calls == []


async def test_cycle_log_cycle_unknown_to_the_runtime_fails_only_after_the_grace(
    cycles: CycleLog, clock: Clock
) -> None:
    one = record(1)
    await cycles.started(one)
    clock.at = one.started_at + UNKNOWN_GRACE - timedelta(seconds=1)
    [starting] = await cycles.recent()
    clock.at = one.started_at + UNKNOWN_GRACE
    [lost] = await cycles.recent()

    assert starting.status == "running"
    assert (lost.status, lost.error) == (
        "failed",
        "the workflow runtime has no record of this cycle",
    )


async def test_cycle_log_workflow_state_unavailable_leaves_the_cycle_running_until_it_answers(
    cycles: CycleLog, workflows: FakeWorkflows
) -> None:
    await cycles.started(record(1))
    workflows.snapshots["momo-1"] = completed(T0 + timedelta(minutes=1), [])
    workflows.unavailable = True
    [waiting] = await cycles.recent()
    workflows.unavailable = False
    [done] = await cycles.recent()

    assert (waiting.status, done.status) == ("running", "completed")


async def test_cycle_log_failed_cycle_keeps_the_reason(
    cycles: CycleLog, workflows: FakeWorkflows
) -> None:
    await cycles.started(record(1))
    workflows.snapshots["momo-1"] = WorkflowSnapshot(
        "failed", T0 + timedelta(minutes=2), None, "decision request failed: HTTP 500"
    )

    [failed] = await cycles.recent()

    assert (failed.status, failed.error, failed.decisions) == (
        "failed",
        "decision request failed: HTTP 500",
        None,
    )


async def test_cycle_log_engine_unreachable_counts_orders_from_the_workflow_result(
    cycles: CycleLog, workflows: FakeWorkflows, engine: FakeEngine
) -> None:
    await cycles.started(record(1))
    engine.down = True
    workflows.snapshots["momo-1"] = completed(T0 + timedelta(minutes=1), ["a", "b"], ("b",))

    [done] = await cycles.recent()

    assert [(o.order_id, o.status) for o in done.orders] == [("a", "unknown"), ("b", "canceled")]
    assert (done.filled, done.canceled) == (0, 1)


async def test_cycle_log_since_leaves_out_earlier_cycles(cycles: CycleLog) -> None:
    for n in (1, 2):
        await cycles.started(record(n))

    chosen = await cycles.recent(since=T0 + timedelta(minutes=2))

    assert [r.cycle_id for r in chosen] == ["momo-2"]


async def test_cycle_log_concurrent_writer_keeps_both_records(
    workflows: FakeWorkflows, engine: FakeEngine
) -> None:
    class RacingStore(InMemoryStateStore):
        """Another tick records momo-2 between this writer's read and its write."""

        raced = False

        async def save(self, key: str, value: Any, **kwargs: Any) -> None:
            if not self.raced:
                self.raced = True
                await super().save(key, [record(2).to_json()])
            await super().save(key, value, **kwargs)

    log = CycleLog(RacingStore(), workflows, engine, "trading-engine", lambda: T0)

    await log.started(record(1))

    assert [r.cycle_id for r in await log.recent()] == ["momo-1", "momo-2"]


async def test_cycle_log_unreadable_entry_is_skipped(
    cycles: CycleLog, state: InMemoryStateStore
) -> None:
    await state.save(LOG_KEY, [{"cycle_id": "broken"}, record(1).to_json()])

    assert [r.cycle_id for r in await cycles.recent()] == ["momo-1"]


# --- API ------------------------------------------------------------------------------------------


@pytest.fixture
def client(cycles: CycleLog) -> Iterator[TestClient]:
    app = create_app(OrchestratorSettings(log_json=False, workflows=False))
    app.state.cycle_log = cycles
    with TestClient(app) as test_client:
        yield test_client


async def test_cycles_api_lists_cycles_since_with_their_outcome(
    client: TestClient, cycles: CycleLog, workflows: FakeWorkflows, engine: FakeEngine
) -> None:
    for n in (1, 2):
        await cycles.started(record(n))
    workflows.snapshots["momo-2"] = completed(T0 + timedelta(minutes=2, seconds=2), ["a"])
    engine.orders = [engine_order("momo-2", "AAPL", "filled", T0 + timedelta(minutes=2))]

    response = client.get("/cycles", params={"since": "2026-11-24T15:02:00Z"})

    assert response.status_code == 200
    [cycle] = response.json()
    assert {k: cycle[k] for k in ("cycle_id", "status", "placed", "filled", "canceled")} == {
        "cycle_id": "momo-2",
        "status": "completed",
        "placed": 1,
        "filled": 1,
        "canceled": 0,
    }
    assert cycle["duration_seconds"] == 2.0
    assert cycle["orders"][0]["accepted_at"] == "2026-11-24T15:02:00+00:00"


def test_cycles_api_since_without_timezone_is_422(client: TestClient) -> None:
    assert client.get("/cycles", params={"since": "2026-11-24T15:02:00"}).status_code == 422
