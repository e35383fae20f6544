"""The trading engine through real sidecars: orders over HTTP fill against quotes delivered
by the broker, fills and positions reach trade.events / position.updates, and a SIGKILL of the
engine mid-stream loses nothing and publishes nothing twice.

The engine's events live in the Dapr state store (one ETag-guarded write per command) together
with the contract events to publish (the outbox); after a restart it rebuilds from the store
and drains what was stored but not yet published, with the same CloudEvent ids."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support.platform import Recorder, eventually, recorder_spec
from trader_cli.runfile import Profile
from trader_common.contracts import QuoteUpdated

pytestmark = pytest.mark.e2e

TOPICS = ("trade.events", "position.updates")
FILLED = "ai.active-trader.trade.order-filled.v1"
ORDERS = 30
QTY = Decimal(2)


def _quote(bid: str, ask: str) -> QuoteUpdated:
    return QuoteUpdated(
        ts_event=datetime.now(UTC),
        symbol="AAPL",
        source="e2e",
        bid=Decimal(bid),
        ask=Decimal(ask),
        bid_size=100,
        ask_size=100,
    )


def _submit(url: str, client_order_id: str) -> int:
    response = httpx.post(
        f"{url}/orders",
        json={
            "symbol": "AAPL",
            "side": "buy",
            "qty": str(QTY),
            "time_in_force": "gtc",
            "client_order_id": client_order_id,
        },
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    return response.status_code


def _snapshot(url: str) -> tuple[Any, Any, Any]:
    orders = sorted(httpx.get(f"{url}/orders", timeout=10).json(), key=lambda o: o["order_id"])
    positions = httpx.get(f"{url}/positions", timeout=10).json()
    account = httpx.get(f"{url}/account", timeout=10).json()
    return orders, positions, {k: account[k] for k in ("cash", "realized_pnl", "fees")}


def test_trading_engine_sigkill_mid_stream_recovers_state_and_publishes_each_event_once(
    platform_factory: Callable[..., Any],
) -> None:
    stream = f"te-e2e-{uuid4().hex[:8]}"
    platform = platform_factory(
        ["trading-engine"],
        profile=Profile(pubsub="nats", state="redis"),
        env={
            "trading-engine": {
                "TRADING_ENGINE_STREAM": stream,
                "TRADING_ENGINE_EQUITY_CALENDAR": "24/7",  # fills whatever the wall clock
                "TRADING_ENGINE_STARTING_CASH": "100000",
                "TRADING_ENGINE_LOG_JSON": "false",
            }
        },
    )
    engine = platform.running["trading-engine"]
    running = platform.start_app(recorder_spec(TOPICS))
    platform.wait_ready([running])
    recorder = Recorder(running, list(TOPICS))
    recorder.wait_subscribed()

    # Quotes reach the engine through the broker (published by the recorder's sidecar).
    recorder.publish(_quote("100.00", "100.10"))
    eventually(
        lambda: httpx.get(f"{engine.url}/quotes/AAPL", timeout=5).status_code == 200,
        what="the engine to see a quote",
    )
    eventually(
        lambda: httpx.get(f"{engine.url}/account", timeout=5).status_code == 200,
        what="the engine to load its state",
    )

    # Orders stream in from a client thread; the engine is SIGKILLed in the middle of it.
    ids = [f"e2e-{i:03d}" for i in range(ORDERS)]
    failed: list[str] = []
    halfway = threading.Event()

    def client() -> None:
        for n, client_order_id in enumerate(ids):
            if n == ORDERS // 2:
                halfway.set()
            try:
                _submit(engine.url, client_order_id)
            except (httpx.HTTPError, AssertionError):
                failed.append(client_order_id)

    thread = threading.Thread(target=client)
    thread.start()
    assert halfway.wait(60)
    engine.app.kill()
    thread.join(120)
    before_restart_failed = list(failed)
    assert before_restart_failed, "the kill should have cut some requests off"
    platform.restart_app("trading-engine")
    eventually(
        lambda: httpx.get(f"{engine.url}/account", timeout=5).status_code == 200,
        what="the engine to reload its state",
    )
    before = _snapshot(engine.url)

    # A client retries what it could not confirm, with the same client_order_id: stored ones
    # come back with 200, the others are placed now.
    recorder.publish(_quote("100.00", "100.10"))
    eventually(
        lambda: httpx.get(f"{engine.url}/quotes/AAPL", timeout=5).status_code == 200,
        what="a fresh quote after the restart",
    )
    for client_order_id in before_restart_failed:
        _submit(engine.url, client_order_id)
    for client_order_id in ids:  # every order exists exactly once now: all are duplicates
        assert _submit(engine.url, client_order_id) == 200

    orders, positions, account = _snapshot(engine.url)
    assert len(orders) == ORDERS
    assert {o["client_order_id"] for o in orders} == set(ids)
    assert all(o["status"] == "filled" for o in orders)
    assert [(p["symbol"], Decimal(p["qty"])) for p in positions] == [("AAPL", QTY * ORDERS)]
    spent = sum(Decimal(o["filled_qty"]) * Decimal(o["avg_fill_price"]) for o in orders)
    assert Decimal(account["cash"]) == Decimal(100_000) - spent

    # What was there right after the restart is still there, unchanged (orders stored before
    # the kill survived it, with their fills).
    before_ids = {o["order_id"] for o in before[0]}
    assert before_ids <= {o["order_id"] for o in orders}
    assert [o for o in orders if o["order_id"] in before_ids] == before[0]

    # A second restart (clean state rebuild) gives the very same orders, positions and cash.
    engine.app.kill()
    platform.restart_app("trading-engine")
    assert eventually(
        lambda: httpx.get(f"{engine.url}/account", timeout=5).status_code == 200 and True,
        what="the engine to reload its state again",
    )
    assert _snapshot(engine.url) == (orders, positions, account)

    # Every fill reached trade.events, every position change position.updates: no id twice.
    def all_fills() -> list[dict[str, Any]]:
        fills = [e for e in recorder.received("trade.events") if e["type"] == FILLED]
        assert len({e["id"] for e in fills}) == ORDERS
        return fills

    eventually(all_fills, what="a fill event per order on trade.events")
    received = [e for e in recorder.received() if e["id"] not in recorder.probe_ids]
    event_ids = [e["id"] for e in received]
    assert len(event_ids) == len(set(event_ids)), "an event id was delivered twice"
    fills = [e for e in received if e["type"] == FILLED]
    assert {e["data"]["order_id"] for e in fills} == {o["order_id"] for o in orders}
    positions_seen = [e for e in received if e["topic"] == "position.updates"]
    assert Decimal(positions_seen[-1]["data"]["qty"]) == QTY * ORDERS or any(
        Decimal(e["data"]["qty"]) == QTY * ORDERS for e in positions_seen
    )
