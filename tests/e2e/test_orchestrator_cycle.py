"""A trading cycle as a Dapr Workflow through real sidecars, placement and scheduler: the
orchestrator asks ai-decision (CloudEvent over the ai-requests HTTP binding), submits the
orders the decisions ask for to the trading engine, and waits for fills. Killed with SIGKILL
right after the cycle starts and restarted, the workflow resumes and no order is placed twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support.platform import eventually, start_recorder
from tests.unit.ai_decision.builders import bar_event, bar_series, quote_event
from trader_common.contracts import utc_now

pytestmark = pytest.mark.e2e


def test_cycle_workflow_killed_mid_cycle_resumes_without_double_orders(
    platform_factory: Callable[..., Any],
) -> None:
    symbol = f"W{uuid4().hex[:5].upper()}"
    platform = platform_factory(
        ["trading-engine", "ai-decision", "orchestrator"],
        env={
            "trading-engine": {
                "TRADING_ENGINE_EQUITIES": symbol,
                "TRADING_ENGINE_EQUITY_CALENDAR": "24/7",
            },
            "ai-decision": {
                "AI_DECISION_FEATURE_TIMEFRAME": "1Min",
                "AI_DECISION_NEWS_SOURCE": "none",
            },
        },
    )
    engine = platform.running["trading-engine"].url
    ai = platform.running["ai-decision"].url
    orchestrator = platform.running["orchestrator"].url
    recorder = start_recorder(platform, topics=("trade.events",))

    # A strong uptrend, so the local model has something to act on, and a quote to fill against.
    t0 = utc_now().replace(second=0, microsecond=0) - timedelta(minutes=45)
    bars = bar_series(40, seed=5, drift=0.006, vol=0.001, t0=t0)
    for bar in bars:
        recorder.publish(bar_event(symbol, bar))
    last = bars[-1].close
    recorder.publish(quote_event(symbol, utc_now(), str(last), str(last + Decimal("0.02"))))
    as_of = utc_now()

    def bars_used() -> int:
        features = httpx.get(f"{ai}/features/{symbol}", params={"as_of": as_of.isoformat()})
        return int((features.json().get("bars") or {}).get("bars_used") or 0)

    eventually(lambda: bars_used() >= 40, what="features from 40 bars")

    cycle_id = f"kill-{uuid4().hex[:8]}"
    started = httpx.post(
        f"{orchestrator}/cycles",
        json={"strategy_id": "momo", "symbols": [symbol], "cycle_id": cycle_id, "fill_timeout": 20},
        timeout=30,
    )
    assert started.status_code == 202, started.text

    # Crash the orchestrator mid-cycle, then bring it back.
    platform.running["orchestrator"].app.kill()
    platform.restart_app("orchestrator")

    def finished() -> dict[str, Any] | None:
        state = httpx.get(f"{orchestrator}/cycles/{cycle_id}", timeout=10).json()
        return state if state["status"] in ("completed", "failed", "terminated") else None

    result = eventually(finished, timeout=180, what="the cycle to finish after the restart")
    assert result["status"] == "completed", result
    placed = result["result"]["orders"]
    assert result["result"]["decisions"] >= 1, result

    # The same cycle started again is the same cycle, not a second one.
    again = httpx.post(
        f"{orchestrator}/cycles",
        json={"strategy_id": "momo", "symbols": [symbol], "cycle_id": cycle_id},
    ).json()
    assert again["status"] == "completed"

    orders = httpx.get(f"{engine}/orders", params={"symbol": symbol}).json()
    mine = [o for o in orders if o["client_order_id"] == f"{cycle_id}:{symbol}"]
    # the uptrend makes the local model buy: exactly one order, placed once, filled
    assert len(placed) == 1, result
    assert len(mine) == 1, orders
    if mine:
        assert mine[0]["status"] == "filled", mine[0]
        fills = [
            e
            for e in recorder.received("trade.events")
            if e["data"].get("order_id") == mine[0]["order_id"] and "filled" in e["type"]
        ]
        assert len({e["id"] for e in fills}) == len(fills) >= 1

    # The operator's command line against the same running apps.
    from typer.testing import CliRunner

    from trader_cli.main import app as trader

    cli = CliRunner()
    listed = cli.invoke(trader, ["orders", "--symbol", symbol, "--json", "--url", engine])
    assert listed.exit_code == 0, listed.output
    assert [o["client_order_id"] for o in json.loads(listed.output)] == [f"{cycle_id}:{symbol}"]
    held = cli.invoke(trader, ["positions", "--json", "--url", engine])
    assert held.exit_code == 0, held.output
    assert [p["symbol"] for p in json.loads(held.output)] == [symbol]
    paused = cli.invoke(trader, ["pause", "--strategy", "momo", "--url", orchestrator])
    assert paused.exit_code == 0, paused.output
    assert "momo: running → paused" in paused.output
    refused = httpx.post(
        f"{orchestrator}/cycles", json={"strategy_id": "momo", "symbols": [symbol]}
    )
    assert refused.status_code == 409
    again_paused = cli.invoke(trader, ["pause", "--strategy", "momo", "--url", orchestrator])
    assert again_paused.exit_code == 1
    assert "cannot pause momo: it is paused" in again_paused.output
    killed = cli.invoke(trader, ["kill-switch", "--json", "--url", orchestrator])
    assert killed.exit_code == 0, killed.output
    assert json.loads(killed.output)["halted"] is True

    # Leave the session's shared state store as found: later tests run cycles.
    for scope in ("global", "momo"):
        resumed = httpx.post(
            f"{orchestrator}/operations/{scope}/resume", json={"reason": "end of test"}
        )
        assert resumed.status_code == 200, resumed.text
