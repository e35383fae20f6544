"""The REST API (routers, schemas, error mapping) over an in-memory store: every invalid
request is a clear 4xx, and the resources answer as documented."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from trader_common.contracts import QuoteUpdated
from trading_engine.adapters.inprocess_store import InMemoryEventStore
from trading_engine.domain.assets import Asset, AssetRegistry
from trading_engine.domain.core import AccountConfig
from trading_engine.domain.sessions import Session
from trading_engine.main import StartedService, create_app
from trading_engine.service.clock import ManualClock
from trading_engine.service.engine import TradingEngine
from trading_engine.service.trading_service import TradingService
from trading_engine.settings import TradingEngineSettings

START = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


class OneSession:
    def session_at_or_after(self, calendar: str, ts: datetime) -> Session:
        return Session(
            datetime(2024, 3, 4, 14, 30, tzinfo=UTC), datetime(2024, 3, 4, 21, tzinfo=UTC)
        )


@pytest.fixture
def client() -> TestClient:
    app = create_app(TradingEngineSettings(log_json=False))
    engine = TradingEngine(
        assets=AssetRegistry([Asset.equity("AAPL"), Asset.equity("MSFT"), Asset.crypto("BTC/USD")]),
        calendar=OneSession(),
        clock=ManualClock(START),
    )
    service = TradingService(engine, store=InMemoryEventStore())
    started = StartedService(service)
    app.state.started = started
    test_client = TestClient(app)  # no lifespan: nothing talks to a sidecar

    async def boot() -> None:
        await service.start(AccountConfig(starting_cash=Decimal(10_000)))
        await service.on_market_event(
            QuoteUpdated(
                ts_event=START,
                symbol="AAPL",
                source="t",
                bid=100,
                ask=Decimal("100.10"),
                bid_size=1,
                ask_size=1,
            )
        )
        started.ready.set()

    anyio.run(boot)
    return test_client


def _buy(client: TestClient, **extra: Any) -> Any:
    return client.post("/orders", json={"symbol": "AAPL", "side": "buy", "qty": "2", **extra})


def test_post_orders_market_buy_fills_and_returns_201(client: TestClient) -> None:
    response = _buy(client)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "filled" and Decimal(body["avg_fill_price"]) == Decimal("100.10")
    position = client.get("/positions/AAPL").json()
    assert Decimal(position["qty"]) == 2
    account = client.get("/account").json()
    assert Decimal(account["cash"]) == Decimal("9799.80")


def test_post_orders_repeated_client_order_id_returns_existing_with_200(
    client: TestClient,
) -> None:
    first = _buy(client, client_order_id="abc")
    again = _buy(client, client_order_id="abc")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["order_id"] == first.json()["order_id"]
    assert len(client.get("/orders").json()) == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"symbol": "AAPL", "side": "buy", "qty": "0"}, "greater than 0"),
        ({"symbol": "AAPL", "side": "buy", "qty": "-1"}, "greater than 0"),
        ({"symbol": "AAPL", "side": "buy", "qty": "1", "type": "limit"}, "limit_price"),
        ({"symbol": "AAPL", "side": "buy"}, "exactly one of qty and notional"),
        ({"symbol": "AAPL", "side": "up", "qty": "1"}, "side"),
        ({"symbol": "aapl", "side": "buy", "qty": "1"}, "symbol"),
        ({"symbol": "ZZZZ", "side": "buy", "qty": "1"}, "ZZZZ"),
        ({"symbol": "BTC/USD", "side": "buy", "qty": "1", "time_in_force": "day"}, "use gtc"),
        ({"symbol": "AAPL", "side": "buy", "qty": "1", "colour": "red"}, "colour"),
    ],
)
def test_post_orders_invalid_request_is_422_with_reason(
    client: TestClient, body: dict[str, Any], fragment: str
) -> None:
    response = client.post("/orders", json=body)
    assert response.status_code == 422, response.text
    assert fragment.lower() in response.text.lower()


def test_patch_orders_filled_order_is_409(client: TestClient) -> None:
    order = _buy(client).json()
    response = client.patch(f"/orders/{order['order_id']}", json={"qty": "3"})
    assert response.status_code == 409
    assert "filled" in response.json()["detail"]
    assert client.delete(f"/orders/{order['order_id']}").status_code == 409


def test_patch_orders_limit_price_replaces_working_order(client: TestClient) -> None:
    order = _buy(client, type="limit", limit_price="90").json()
    assert order["status"] == "new"
    response = client.patch(f"/orders/{order['order_id']}", json={"limit_price": "91"})
    assert response.status_code == 200, response.text
    assert response.json()["replaces"] == order["order_id"]
    old = client.get(f"/orders/{order['order_id']}").json()
    assert old["status"] == "replaced"


def test_delete_orders_cancels_all_open_and_lists_them(client: TestClient) -> None:
    a = _buy(client, type="limit", limit_price="90").json()
    b = _buy(client, type="limit", limit_price="80").json()
    response = client.delete("/orders")
    assert response.status_code == 200
    assert {o["order_id"] for o in response.json()} == {a["order_id"], b["order_id"]}
    assert client.get("/orders", params={"status": "open"}).json() == []
    again = client.delete(f"/orders/{a['order_id']}")
    assert again.status_code == 200 and again.json()["status"] == "canceled"


def test_get_orders_unknown_id_is_404_and_bad_filters_are_422(client: TestClient) -> None:
    assert client.get("/orders/00000000-0000-0000-0000-000000000001").status_code == 404
    assert client.get("/orders/not-a-uuid").status_code == 422
    assert client.get("/orders", params={"status": "sideways"}).status_code == 422
    assert client.get("/orders", params={"after": "2024-01-01T00:00:00"}).status_code == 422


def test_get_orders_filters_by_status_symbol_and_time(client: TestClient) -> None:
    _buy(client)
    _buy(client, type="limit", limit_price="90")
    assert len(client.get("/orders", params={"status": "filled"}).json()) == 1
    assert len(client.get("/orders", params={"status": "open"}).json()) == 1
    assert len(client.get("/orders", params={"symbol": "MSFT"}).json()) == 0
    later = {"after": "2030-01-01T00:00:00Z"}
    assert client.get("/orders", params=later).json() == []


def test_delete_positions_closes_and_unknown_is_404(client: TestClient) -> None:
    _buy(client)
    response = client.delete("/positions/AAPL")
    assert response.status_code == 200, response.text
    assert response.json()["side"] == "sell"
    assert client.get("/positions/AAPL").status_code == 404
    assert client.delete("/positions/MSFT").status_code == 404
    assert client.get("/positions").json() == []


def test_trading_state_resume_requires_operator_and_reports_state(client: TestClient) -> None:
    assert client.get("/trading-state").json()["trading_state"] == "active"
    bad = client.post("/trading-state/resume", json={"reason": "x"})
    assert bad.status_code == 422
    wrong = client.post(
        "/trading-state/resume", json={"operator": "ops", "reason": "x", "target": "halted"}
    )
    assert wrong.status_code == 422
    ok = client.post("/trading-state/resume", json={"operator": "ops", "reason": "all clear"})
    assert ok.status_code == 200 and ok.json()["trading_state"] == "active"


def test_openapi_lists_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/orders", "/orders/{order_id}", "/positions", "/positions/{symbol}"} <= set(paths)
    assert {"/account", "/trading-state", "/trading-state/resume"} <= set(paths)
    assert {"get", "post", "delete"} <= set(paths["/orders"])
