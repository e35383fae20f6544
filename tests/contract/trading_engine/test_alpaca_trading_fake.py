"""The fake Alpaca Trading API speaks what alpaca-py reads: its orders parse into alpaca-py's
``Order``, its errors into ``APIError`` (status, code, message), its trade updates into
``TradeUpdate``; alpaca-py's own 429 retry works against it. And the adapter's readers turn
those into broker reports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.models import Order, Position, TradeUpdate
from alpaca.trading.requests import LimitOrderRequest, ReplaceOrderRequest

from tests.fakes.alpaca_trading import FakeAlpacaTrading
from tests.fakes.server import serve
from trader_common.contracts.trade import OrderStatus
from trading_engine.adapters.alpaca_broker import (
    AlpacaBroker,
    positions_from,
    report_from_trade_update,
)
from trading_engine.service.ports import BrokerRejectedError

KEY, SECRET = "AKCONTRACT0000001", "contract-secret"


@pytest.fixture
def venue() -> Iterator[tuple[FakeAlpacaTrading, TradingClient]]:
    fake = FakeAlpacaTrading(key=KEY, secret=SECRET)
    with serve(fake.app) as url:
        client = TradingClient(KEY, SECRET, paper=True, url_override=url)
        client._retry_wait = 0.01  # type: ignore[assignment]
        yield fake, client


def _limit(coid: str, symbol: str = "AAPL") -> LimitOrderRequest:
    return LimitOrderRequest(
        symbol=symbol,
        qty=10,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.DAY,
        limit_price=150.25,
        client_order_id=coid,
    )


def test_fake_order_parses_into_alpaca_py_order(
    venue: tuple[FakeAlpacaTrading, TradingClient],
) -> None:
    _, client = venue
    placed = client.submit_order(_limit("c-1"))
    assert isinstance(placed, Order)
    assert placed.client_order_id == "c-1" and placed.limit_price == "150.25"
    fetched = client.get_order_by_client_id("c-1")
    assert isinstance(fetched, Order) and fetched.id == placed.id
    assert client.get_order_by_id(placed.id).status.value == "new"  # type: ignore[union-attr]


def test_fake_refusal_parses_into_api_error_with_status_and_message(
    venue: tuple[FakeAlpacaTrading, TradingClient],
) -> None:
    fake, client = venue
    fake.refuse("MSFT", 403, "insufficient buying power")
    with pytest.raises(APIError) as refused:
        client.submit_order(_limit("c-2", "MSFT"))
    assert refused.value.status_code == 403
    assert refused.value.message == "insufficient buying power"


def test_fake_duplicate_client_order_id_is_refused_422(
    venue: tuple[FakeAlpacaTrading, TradingClient],
) -> None:
    _, client = venue
    client.submit_order(_limit("dup"))
    with pytest.raises(APIError) as refused:
        client.submit_order(_limit("dup"))
    assert refused.value.status_code == 422
    assert "client_order_id" in refused.value.message


def test_alpaca_py_retries_a_429_then_succeeds_and_gives_up_after_its_attempts(
    venue: tuple[FakeAlpacaTrading, TradingClient],
) -> None:
    fake, client = venue
    fake.rate_limit("/v2/orders", retry_after="1", times=1)
    client.submit_order(_limit("r-1"))
    assert fake.posts() == 2

    fake.rate_limit("/v2/orders", times=10)
    with pytest.raises(APIError) as limited:
        client.submit_order(_limit("r-2"))
    assert limited.value.status_code == 429
    assert fake.posts() == 2 + 4  # one try and three retries (alpaca-py's default)


def test_fake_replace_answers_the_new_order_and_marks_the_old_replaced(
    venue: tuple[FakeAlpacaTrading, TradingClient],
) -> None:
    _, client = venue
    old = client.submit_order(_limit("old"))
    new = client.replace_order_by_id(
        old.id,  # type: ignore[union-attr]
        ReplaceOrderRequest(limit_price=151, client_order_id="new"),
    )
    assert isinstance(new, Order) and new.replaces == old.id  # type: ignore[union-attr]
    assert client.get_order_by_client_id("old").replaced_by == new.id  # type: ignore[union-attr]


def test_fake_trade_update_parses_into_trade_update_and_report(
    venue: tuple[FakeAlpacaTrading, TradingClient],
) -> None:
    fake, client = venue
    client.submit_order(_limit("u-1"))
    update = fake.fill("u-1", "4", "150.10")
    wire = json.loads(json.dumps({"stream": "trade_updates", "data": update}))

    parsed = TradeUpdate(**wire["data"])
    report = report_from_trade_update(wire["data"])

    assert parsed.event == "partial_fill"
    assert str(parsed.execution_id) == update["execution_id"]
    assert report.status is OrderStatus.PARTIALLY_FILLED
    assert report.fill_qty == 4 and report.fill_price == Decimal("150.10")
    assert report.filled_qty == 4 and report.execution_id == update["execution_id"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("nope", "not an object"),
        ({"order": {}}, "without an event"),
        ({"event": "fill"}, "without an order"),
        ({"event": "fill", "order": {"id": "x"}}, "cannot read"),
    ],
)
def test_trade_update_malformed_is_refused_with_a_reason(data: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        report_from_trade_update(data)


def test_fake_positions_parse_into_alpaca_py_positions_and_read_as_signed_qty(
    venue: tuple[FakeAlpacaTrading, TradingClient],
) -> None:
    fake, client = venue
    client.submit_order(_limit("p-1"))
    fake.fill("p-1", "4", "150.25")
    fake.hold("MSFT", "-3", "410")
    fake.hold("BTC/USD", "0.125", "60000")
    fake.hold("ETH/USDT", "2")
    found = client.get_all_positions()
    assert isinstance(found, list) and all(isinstance(p, Position) for p in found)
    by_symbol = {p.symbol: p for p in found}  # type: ignore[union-attr]
    assert by_symbol["MSFT"].side.value == "short" and by_symbol["BTCUSD"].asset_class == "crypto"
    assert positions_from(found) == {
        "AAPL": Decimal(4),
        "MSFT": Decimal(-3),
        "BTC/USD": Decimal("0.125"),
        "ETH/USDT": Decimal(2),
    }


def test_positions_reader_unreadable_quantity_is_an_error_not_a_flat_position(
    venue: tuple[FakeAlpacaTrading, TradingClient],
) -> None:
    fake, client = venue
    fake.hold("AAPL", "1")
    [position] = client.get_all_positions()  # type: ignore[misc]
    with pytest.raises(ValueError, match="AAPL has no quantity: 'NaN'"):
        positions_from([position.model_copy(update={"qty": "NaN"})])
    with pytest.raises(ValueError, match="not a list"):
        positions_from({"positions": []})


async def test_broker_positions_unauthorised_is_a_refusal_with_alpacas_message() -> None:
    fake = FakeAlpacaTrading(key=KEY, secret=SECRET)
    with serve(fake.app) as url:
        broker = AlpacaBroker(KEY, "wrong-secret", url_override=url, retry_wait_seconds=0.01)
        with pytest.raises(BrokerRejectedError, match="request is not authorized") as raised:
            await broker.positions()
    assert raised.value.status == 401
