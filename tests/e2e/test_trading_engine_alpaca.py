"""broker=alpaca through a real sidecar: the trading engine reads the Alpaca keys from the Dapr
secret store, routes an order through the real alpaca-py client to the loopback fake of
Alpaca's Trading API, and turns the venue's fill on the trade_updates stream into the same
domain events the paper exchange produces: a position, and OrderFilled on trade.events. The
positions are compared with the venue's after each reconciliation: a holding placed at the venue
outside the engine is published on system.events and shown by GET /broker/positions."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.fakes.alpaca_trading import FakeAlpacaTrading
from tests.fakes.server import serve
from tests.support.platform import eventually, start_recorder
from tests.unit.ai_decision.builders import quote_event
from trader_common.contracts import utc_now

pytestmark = pytest.mark.e2e

KEY, SECRET = "AKE2ETESTROUTING01", "e2e-routing-secret"


def test_alpaca_broker_order_routed_and_fill_from_stream_becomes_position_and_event(
    platform_factory: Callable[..., Any],
) -> None:
    symbol = f"A{uuid4().hex[:5].upper()}"
    venue = FakeAlpacaTrading(KEY, SECRET)
    with serve(venue.app) as url:
        platform = platform_factory(
            ["trading-engine"],
            env={
                "trading-engine": {
                    "TRADING_ENGINE_BROKER": "alpaca",
                    "TRADING_ENGINE_ALPACA_TRADING_URL": url,
                    "TRADING_ENGINE_ALPACA_STREAM_URL": url.replace("http://", "ws://") + "/stream",
                    "TRADING_ENGINE_EQUITIES": symbol,
                    "TRADING_ENGINE_EQUITY_CALENDAR": "24/7",
                    "TRADING_ENGINE_STREAM": f"alpaca-{uuid4().hex[:8]}",
                    "TRADING_ENGINE_ALPACA_RECONCILE_SECONDS": "0.5",
                }
            },
            secrets={"alpaca": {"api-key": KEY, "secret-key": SECRET}},
        )
        engine = platform.running["trading-engine"].url
        recorder = start_recorder(platform, topics=("trade.events", "system.events"))
        eventually(lambda: venue.listening >= 1, what="the engine listening to trade_updates")
        # risk checks need a price, as with the paper exchange
        recorder.publish(quote_event(symbol, utc_now(), "101.20", "101.30"))
        eventually(
            lambda: httpx.get(f"{engine}/quotes/{symbol}", timeout=10).status_code == 200,
            what="the engine to see a quote",
        )

        placed = httpx.post(
            f"{engine}/orders",
            json={
                "symbol": symbol,
                "side": "buy",
                "qty": "10",
                "type": "market",
                "time_in_force": "gtc",
                "client_order_id": "e2e-alpaca-1",
            },
            timeout=30,
        )
        assert placed.status_code in (201, 202), placed.text
        order_id = placed.json()["order_id"]
        at_venue = venue.by_client_id("e2e-alpaca-1")  # the venue got it, under our id
        assert (at_venue["symbol"], Decimal(at_venue["qty"])) == (symbol, 10)
        assert venue.posts() == 1

        venue.fill("e2e-alpaca-1", "4", "101.25")
        venue.fill("e2e-alpaca-1", "6", "101.50")

        def filled() -> dict[str, Any] | None:
            order = httpx.get(f"{engine}/orders/{order_id}", timeout=10).json()
            return order if order["status"] == "filled" else None

        order = eventually(filled, what="the order filled from the stream")
        assert Decimal(order["filled_qty"]) == 10
        assert Decimal(order["avg_fill_price"]) == Decimal("101.4")
        position = httpx.get(f"{engine}/positions/{symbol}", timeout=10).json()
        assert Decimal(position["qty"]) == 10

        def fill_events() -> list[dict[str, Any]] | None:
            mine = [
                e
                for e in recorder.received("trade.events")
                if e["data"].get("order_id") == order_id and "fill" in e["type"]
            ]
            return mine if len(mine) >= 2 else None

        events = eventually(fill_events, what="two fill events on trade.events")
        assert [e["type"].split(".")[-2] for e in events] == [
            "order-partially-filled",
            "order-filled",
        ]

        # The engine and the venue agree on the position: checks find nothing to report.
        def checked_in_line() -> bool:
            check = httpx.get(f"{engine}/broker/positions", timeout=10).json()
            return check["in_line"] is True

        eventually(checked_in_line, what="a position check that finds the venue in line")

        outside = f"O{uuid4().hex[:5].upper()}"
        venue.hold(outside, "3", "55")  # bought in Alpaca's dashboard, not through the engine

        def diverged() -> list[dict[str, Any]] | None:
            mine = [
                e
                for e in recorder.received("system.events")
                if e["type"].endswith("system.broker-positions-diverged.v1")
                and any(d["symbol"] == outside for d in e["data"]["differences"])
            ]
            return mine or None

        [event] = eventually(diverged, what="BrokerPositionsDiverged on system.events")
        assert event["data"]["differences"] == [
            {"symbol": outside, "engine_qty": "0", "broker_qty": "3"}
        ]
        check = httpx.get(f"{engine}/broker/positions", timeout=10).json()
        assert check["in_line"] is False
        assert check["differences"] == [{"symbol": outside, "engine_qty": "0", "broker_qty": "3"}]
