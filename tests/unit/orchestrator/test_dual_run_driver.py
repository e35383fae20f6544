"""The dual-run driver without sidecars: how it names orders and events, reads an engine's
REST answers, configures the apps, and stops with a reason when the platform does not follow."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import grpc
import pytest
from fastapi.testclient import TestClient

from ai_decision.settings import AiDecisionSettings
from orchestrator.backtest.bars import BarSeries, DailyBar
from orchestrator.backtest.distributed import (
    DualRunConfig,
    DualRunError,
    bar_event,
    cycle_id_for,
    platform_env,
    run_distributed,
    run_in_process,
)
from orchestrator.backtest.dualrun import compare_runs, record_from_engine, record_of
from orchestrator.backtest.runner import Backtester, session_times
from orchestrator.backtest.strategy import SmaCross, SmaCrossParams
from orchestrator.main import create_app
from orchestrator.settings import OrchestratorSettings
from trader_common.contracts import BarClosed
from trading_engine.settings import TradingEngineSettings

PARAMS = SmaCrossParams(fast=2, slow=4, qty=Decimal(5))
CLOSES = ["10", "9", "8", "7", "8", "10", "12", "11", "9", "7", "6", "8", "11"]


def series(symbol: str = "AAA") -> BarSeries:
    start = date(2021, 3, 1)
    return BarSeries(
        symbol,
        tuple(
            DailyBar(
                start + timedelta(days=i),
                Decimal(c),
                Decimal(c),
                Decimal(c),
                Decimal(c),
                Decimal(1000),
            )
            for i, c in enumerate(CLOSES)
        ),
    )


def test_backtest_named_orders_follow_cycle_ids_and_open_orders_are_kept() -> None:
    s = series()
    config = DualRunConfig(params=PARAMS, strategy_id="sma")
    record = run_in_process([s], config)
    ids = [o.client_order_id for o in record.orders]
    assert ids and all(i.startswith("sma-2021-03-") and i.endswith(":AAA") for i in ids)
    # the last bar's up-cross places an order that nothing fills: it is kept, still working
    assert record.orders[-1].status in ("new", "accepted")
    assert record.orders[-1].client_order_id == f"{cycle_id_for('sma', s.bars[-1].day)}:AAA"
    assert len(record.fills) == len(record.orders) - 1


def test_record_from_engine_json_equals_record_of_backtest() -> None:
    result = Backtester(lambda _: SmaCross(PARAMS)).run([series()])
    orders = [
        {
            "client_order_id": o.client_order_id,
            "symbol": o.symbol,
            "side": o.side,
            "qty": str(o.qty),
            "status": o.status,
            "filled_qty": str(o.filled_qty),
            "avg_fill_price": None if o.avg_fill_price is None else str(o.avg_fill_price),
            "fees": str(o.fees),
        }
        for o in reversed(result.orders)  # the API lists newest first
    ]
    positions = [{"symbol": s, "qty": str(q)} for s, q in result.positions.items()]
    account = {
        "realized_pnl": str(result.realized_pnl),
        "fees": str(result.fees),
        "cash": str(result.final_cash),
        "equity": str(result.final_equity),
    }
    assert compare_runs(record_of(result), record_from_engine(orders, positions, account)) == []
    changed = [*orders[:-1], {**orders[-1], "avg_fill_price": "1"}]  # the first, filled order
    differences = compare_runs(record_of(result), record_from_engine(changed, positions, account))
    assert [(d.kind, d.key, d.field) for d in differences] == [("fill", "bt-1#1", "price")]


def test_bar_event_has_session_times_and_a_stable_id() -> None:
    bar = series().bars[0]
    event = bar_event("AAA", bar)
    assert (event.ts_open, event.ts_event) == session_times(bar.day)
    assert event.timeframe == "1Day"
    assert bar_event("AAA", bar).event_id == event.event_id
    assert bar_event("BBB", bar).event_id != event.event_id


def test_platform_env_parses_as_each_apps_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    config = DualRunConfig(params=SmaCrossParams(fast=3, slow=7, qty=Decimal(4)), strategy_id="x")
    env = platform_env(["AAA", "BBB"], config, stream="dual-1")
    for app_env in env.values():
        for name, value in app_env.items():
            monkeypatch.setenv(name, value)
    engine = TradingEngineSettings()
    assert engine.equity_symbols() == ["AAA", "BBB"]
    assert (engine.clock, engine.bar_timeframe, engine.stream) == ("market", "1Day", "dual-1")
    assert engine.starting_cash == config.starting_cash
    ai = AiDecisionSettings()
    assert str(ai.routing.chain("x", "fast")[0]) == "local:sma-cross-v1"  # type: ignore[arg-type]
    assert ai.sma_cross.params().slow == 7
    assert OrchestratorSettings().strategies == []


class StuckPlatform:
    """A platform whose engine never takes the bars in, or whose cycles fail."""

    def __init__(self, *, engine_follows: bool, cycle_status: str = "completed") -> None:
        self.engine_follows = engine_follows
        self.cycle_status = cycle_status
        self.published: list[BarClosed] = []
        self.cycles: list[Mapping[str, Any]] = []

    async def publish_bars(self, bars: Sequence[BarClosed]) -> None:
        self.published.extend(bars)

    async def engine_last_bar_closes(self) -> dict[str, datetime]:
        if not self.engine_follows or not self.published:
            return {}
        return {self.published[-1].symbol: self.published[-1].ts_event}

    async def decision_bar_close(self, symbol: str, as_of: datetime) -> datetime | None:
        return self.published[-1].ts_event

    async def start_cycle(self, body: Mapping[str, Any]) -> None:
        self.cycles.append(body)

    async def cycle(self, cycle_id: str) -> dict[str, Any]:
        return {"status": self.cycle_status, "error": "activity failed"}

    async def engine_records(
        self,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        raise AssertionError("not reached")


def test_run_distributed_engine_not_following_stops_naming_the_step() -> None:
    platform = StuckPlatform(engine_follows=False)
    config = DualRunConfig(params=PARAMS, step_timeout=0.2, poll_seconds=0.01)
    with pytest.raises(DualRunError, match="trading engine to process the bars of 2021-03-01"):
        asyncio.run(run_distributed([series()], config, platform))
    assert len(platform.published) == 1
    assert platform.cycles == []


def test_run_distributed_failed_cycle_stops_with_its_error() -> None:
    platform = StuckPlatform(engine_follows=True, cycle_status="failed")
    config = DualRunConfig(params=PARAMS, strategy_id="sma", step_timeout=1, poll_seconds=0.01)
    with pytest.raises(DualRunError, match=r"cycle sma-2021-03-01 ended failed.*activity failed"):
        asyncio.run(run_distributed([series()], config, platform))
    body = platform.cycles[0]
    assert body["fill_timeout"] == 0
    assert body["symbols"] == ["AAA"]
    assert body["as_of"] == session_times(date(2021, 3, 1))[1].isoformat()


class FailingWorkflowClient:
    def get_workflow_state(self, cycle_id: str, fetch_payloads: bool = True) -> Any:
        class ReadRace(grpc.RpcError):
            def details(self) -> str:
                return "inbox key missing from state store"

        raise ReadRace()


def test_get_cycle_workflow_read_failing_is_503_with_reason() -> None:
    app = create_app(OrchestratorSettings(log_json=False, workflows=False))
    with TestClient(app) as client:
        app.state.workflow_client = FailingWorkflowClient()
        response = client.get("/cycles/c-1")
    assert response.status_code == 503
    assert "inbox key missing" in response.text


def test_start_cycle_fill_timeout_negative_or_naive_as_of_is_422() -> None:
    app = create_app(OrchestratorSettings(log_json=False, workflows=False))
    with TestClient(app) as client:
        body = {"strategy_id": "s", "symbols": ["AAA"]}
        assert client.post("/cycles", json={**body, "fill_timeout": -1}).status_code == 422
        naive = {**body, "as_of": "2021-03-01T16:00:00"}
        assert client.post("/cycles", json=naive).status_code == 422
