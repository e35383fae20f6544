"""Malformed commands fail at construction with an error naming the field."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from trader_common.contracts.system import TradingState
from trader_common.contracts.trade import OrderClass, OrderSide, OrderType, TimeInForce
from trading_engine.domain.commands import (
    CancelOrder,
    ClosePosition,
    HaltTrading,
    ReplaceOrder,
    ResumeTrading,
    StopLoss,
    SubmitOrder,
    TakeProfit,
)
from trading_engine.domain.errors import InvalidCommandError, InvalidOrderError

D = Decimal

BUY, SELL = OrderSide.BUY, OrderSide.SELL


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"qty": D(1), "notional": D(100)}, "exactly one of qty and notional"),
        ({}, "exactly one of qty and notional"),
        ({"qty": D(0)}, "qty must be positive"),
        ({"qty": D(-3)}, "qty must be positive"),
        ({"qty": 1.5}, "binary floats"),
        ({"qty": "abc"}, "qty is not a number"),
        ({"qty": D("NaN")}, "finite"),
        ({"qty": D(1), "order_type": OrderType.LIMIT}, "limit order needs limit_price"),
        ({"qty": D(1), "limit_price": D(10)}, "market order takes no limit_price"),
        ({"qty": D(1), "order_type": OrderType.STOP}, "stop order needs stop_price"),
        (
            {"qty": D(1), "order_type": OrderType.STOP_LIMIT, "stop_price": D(10)},
            "stop_limit order needs limit_price",
        ),
        ({"qty": D(1), "order_type": OrderType.TRAILING_STOP}, "exactly one of trail_price"),
        (
            {
                "qty": D(1),
                "order_type": OrderType.TRAILING_STOP,
                "trail_price": D(1),
                "trail_percent": D(1),
            },
            "exactly one of trail_price",
        ),
        (
            {"qty": D(1), "order_type": OrderType.TRAILING_STOP, "trail_percent": D(100)},
            "trail_percent must be below 100",
        ),
        ({"qty": D(1), "trail_price": D(1)}, "market order takes no trail_price"),
        (
            {"notional": D(100), "order_type": OrderType.LIMIT, "limit_price": D(10)},
            "notional orders must be market orders",
        ),
        ({"qty": D(1), "side": "hold"}, "side must be one of buy, sell"),
        ({"qty": D(1), "time_in_force": "week"}, "time_in_force must be one of"),
        ({"qty": D(1), "symbol": "aapl"}, "symbol must be"),
        ({"qty": D(1), "client_order_id": ""}, "client_order_id must be a string of 1 to 128"),
        ({"qty": D(1), "client_order_id": "x" * 129}, "client_order_id"),
        ({"qty": D(1), "strategy_id": "s" * 65}, "strategy_id"),
        (
            {
                "qty": D(1),
                "order_type": OrderType.STOP,
                "stop_price": D(10),
                "time_in_force": TimeInForce.OPG,
            },
            "time_in_force opg takes limit, market orders, not stop",
        ),
        (
            {
                "qty": D(1),
                "order_type": OrderType.TRAILING_STOP,
                "trail_price": D(1),
                "time_in_force": TimeInForce.IOC,
            },
            "not trailing_stop",
        ),
        (
            {"qty": D(1), "take_profit": TakeProfit(limit_price=D(110))},
            "need order_class bracket, oco or oto",
        ),
        (
            {
                "qty": D(1),
                "order_class": OrderClass.BRACKET,
                "stop_loss": StopLoss(stop_price=D(90)),
            },
            "bracket order needs both take_profit and stop_loss",
        ),
        (
            {
                "qty": D(1),
                "order_class": OrderClass.BRACKET,
                "take_profit": TakeProfit(limit_price=D(90)),
                "stop_loss": StopLoss(stop_price=D(95)),
            },
            "take_profit.limit_price 90 must be above stop_loss.stop_price 95",
        ),
        (
            {
                "qty": D(1),
                "order_class": OrderClass.BRACKET,
                "order_type": OrderType.LIMIT,
                "limit_price": D(100),
                "take_profit": TakeProfit(limit_price=D(99)),
                "stop_loss": StopLoss(stop_price=D(90)),
            },
            "must be above the entry limit_price 100",
        ),
        (
            {
                "qty": D(1),
                "order_class": OrderClass.BRACKET,
                "time_in_force": TimeInForce.IOC,
                "take_profit": TakeProfit(limit_price=D(110)),
                "stop_loss": StopLoss(stop_price=D(90)),
            },
            "bracket orders take time_in_force day or gtc",
        ),
        (
            {
                "notional": D(100),
                "order_class": OrderClass.BRACKET,
                "take_profit": TakeProfit(limit_price=D(110)),
                "stop_loss": StopLoss(stop_price=D(90)),
            },
            "sized by qty",
        ),
        (
            {
                "qty": D(1),
                "order_class": OrderClass.OTO,
                "take_profit": TakeProfit(limit_price=D(110)),
                "stop_loss": StopLoss(stop_price=D(90)),
            },
            "oto order needs exactly one",
        ),
        (
            {
                "qty": D(1),
                "side": SELL,
                "order_class": OrderClass.OCO,
                "take_profit": TakeProfit(limit_price=D(110)),
                "stop_loss": StopLoss(stop_price=D(90)),
            },
            "oco order is a limit order",
        ),
        (
            {
                "qty": D(1),
                "side": SELL,
                "order_class": OrderClass.OCO,
                "order_type": OrderType.LIMIT,
                "limit_price": D(111),
                "take_profit": TakeProfit(limit_price=D(110)),
                "stop_loss": StopLoss(stop_price=D(90)),
            },
            "must equal take_profit.limit_price",
        ),
        (
            {
                "qty": D(1),
                "order_class": OrderClass.BRACKET,
                "take_profit": TakeProfit(limit_price=D(110)),
                "stop_loss": StopLoss(stop_price=D(90), limit_price=D(91)),
            },
            "stop_loss.limit_price 91 must be at or below stop_loss.stop_price 90",
        ),
    ],
)
def test_submit_order_malformed_raises_naming_the_problem(fields: dict, message: str) -> None:
    fields = {"symbol": "AAPL", "side": BUY, **fields}
    with pytest.raises(InvalidOrderError, match=message.replace("(", r"\(").replace(".", r"\.")):
        SubmitOrder(**fields)


def test_submit_order_strings_and_ints_become_decimals() -> None:
    cmd = SubmitOrder(
        symbol="AAPL",
        side="buy",  # type: ignore[arg-type]
        order_type="limit",  # type: ignore[arg-type]
        qty=3,  # type: ignore[arg-type]
        limit_price="101.25",  # type: ignore[arg-type]
    )
    assert cmd.side is BUY
    assert cmd.order_type is OrderType.LIMIT
    assert cmd.qty == D(3) and isinstance(cmd.qty, D)
    assert cmd.limit_price == D("101.25")


def test_submit_order_sell_oco_with_take_profit_above_stop_is_valid() -> None:
    cmd = SubmitOrder(
        symbol="AAPL",
        side=SELL,
        qty=D(1),
        order_class=OrderClass.OCO,
        order_type=OrderType.LIMIT,
        limit_price=D(110),
        take_profit=TakeProfit(limit_price=D(110)),
        stop_loss=StopLoss(stop_price=D(90)),
    )
    assert cmd.order_class is OrderClass.OCO


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ReplaceOrder(order_id=UUID(int=1)), "at least one of"),
        (lambda: ReplaceOrder(order_id=UUID(int=1), qty=D(-1)), "qty must be positive"),
        (
            lambda: ReplaceOrder(order_id=UUID(int=1), trail_price=D(1), trail_percent=D(1)),
            "at most one of trail_price",
        ),
        (lambda: ReplaceOrder(order_id="abc"), "order_id must be a UUID"),  # type: ignore[arg-type]
    ],
)
def test_replace_order_malformed_raises(build, message: str) -> None:
    with pytest.raises(InvalidOrderError, match=message):
        build()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CancelOrder(), "exactly one of order_id and client_order_id"),
        (
            lambda: CancelOrder(order_id=UUID(int=1), client_order_id="a"),
            "exactly one of order_id and client_order_id",
        ),
        (lambda: ClosePosition(symbol="AAPL", qty=D(0)), "qty must be positive"),
        (lambda: ResumeTrading(operator="", reason="x"), "operator"),
        (
            lambda: ResumeTrading(operator="ops", reason="x", target=TradingState.HALTED),
            "use HaltTrading",
        ),
        (
            lambda: HaltTrading(operator="ops", reason="x", target=TradingState.ACTIVE),
            "use ResumeTrading",
        ),
    ],
)
def test_other_commands_malformed_raise(build, message: str) -> None:
    with pytest.raises(InvalidCommandError, match=message):
        build()
