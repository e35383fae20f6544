"""External execution (a broker matches the orders): the core checks and records orders but
never fills them; broker reports become the same domain events, idempotently."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from trader_common.contracts import QuoteUpdated
from trader_common.contracts.trade import OrderClass, OrderSide, OrderStatus, OrderType
from trader_common.contracts.trade import TimeInForce as Tif
from trading_engine.domain.broker import BrokerReport
from trading_engine.domain.commands import CancelOrder, StopLoss, SubmitOrder, TakeProfit
from trading_engine.domain.core import AccountConfig
from trading_engine.domain.events import (
    OrderAcknowledged,
    OrderCanceled,
    OrderCancelRequested,
    OrderFilled,
    OrderFillEvent,
    OrderPartiallyFilled,
    OrderRejected,
    OrderReplaced,
    OrderStatusChanged,
)
from trading_engine.domain.state import EngineState
from trading_engine.service.clock import ManualClock, sequential_ids
from trading_engine.service.engine import TradingEngine

from .conftest import MIDDAY, FixedSessionCalendar, default_assets

D = Decimal
S = OrderStatus
BROKER_ID = "904837e3-3b76-47ec-b432-046db621571b"


def external_engine() -> TradingEngine:
    return TradingEngine(
        assets=default_assets(),
        calendar=FixedSessionCalendar(),
        clock=ManualClock(MIDDAY),
        ids=sequential_ids(),
        external=True,
    )


@pytest.fixture
def engine() -> TradingEngine:
    engine = external_engine()
    engine.open_account(AccountConfig(starting_cash=D(100_000)))
    return engine


def submit(engine: TradingEngine, coid: str = "c-1", qty: str = "10") -> None:
    outcome = engine.submit_order(
        SubmitOrder(
            symbol="AAPL",
            side=OrderSide.BUY,
            order_type=OrderType.LIMIT,
            time_in_force=Tif.DAY,
            qty=D(qty),
            limit_price=D("100"),
            client_order_id=coid,
        )
    )
    assert outcome.accepted


def report(status: S, filled: str = "0", coid: str = "c-1", **kw: object) -> BrokerReport:
    return BrokerReport(
        client_order_id=coid,
        status=status,
        filled_qty=D(filled),
        ts=MIDDAY + timedelta(seconds=1),
        event=str(kw.pop("event", status.value)),
        broker_order_id=str(kw.pop("broker_order_id", BROKER_ID)),
        **kw,  # type: ignore[arg-type]
    )


def test_submit_external_is_recorded_pending_new_and_not_filled_by_quotes(
    engine: TradingEngine,
) -> None:
    submit(engine)
    fills = engine.on_quote(
        QuoteUpdated(
            ts_event=MIDDAY,
            symbol="AAPL",
            source="t",
            bid=D(98),
            ask=D(99),
            bid_size=D(100),
            ask_size=D(100),
        )
    )
    assert not [e for e in fills if isinstance(e, OrderFillEvent)]  # marketable, yet unfilled
    order = engine.order_by_client_id("c-1")
    assert order is not None and order.status is S.PENDING_NEW and order.expires_at is None
    assert engine.state.reserved == D(1000)  # it reserves buying power like any working order


def test_report_new_acknowledges_with_the_broker_id(engine: TradingEngine) -> None:
    submit(engine)
    result = engine.apply_report(report(S.NEW))
    assert [type(e) for e in result.events] == [OrderAcknowledged]
    order = engine.order_by_client_id("c-1")
    assert order is not None and order.status is S.NEW and order.broker_order_id == BROKER_ID


def test_report_fill_on_pending_order_acknowledges_then_fills(engine: TradingEngine) -> None:
    submit(engine)
    result = engine.apply_report(
        report(S.FILLED, "10", fill_qty=D(10), fill_price=D("99.5"), execution_id="e-1")
    )
    assert [type(e) for e in result.events] == [OrderAcknowledged, OrderFilled]
    position = engine.position("AAPL")
    assert position is not None and position.qty == 10
    assert engine.account().cash == D(100_000) - D(995)


def test_report_repeated_or_older_changes_nothing(engine: TradingEngine) -> None:
    submit(engine)
    engine.apply_report(report(S.NEW))
    partial = report(S.PARTIALLY_FILLED, "4", fill_qty=D(4), fill_price=D(99), execution_id="e-1")
    later = report(S.PARTIALLY_FILLED, "6", fill_qty=D(2), fill_price=D(98), execution_id="e-2")
    assert [type(e) for e in engine.apply_report(partial).events] == [OrderPartiallyFilled]
    assert [type(e) for e in engine.apply_report(later).events] == [OrderPartiallyFilled]

    again = engine.apply_report(partial)
    stale_new = engine.apply_report(report(S.NEW))

    assert again.events == [] and again.ignored is not None
    assert stale_new.events == []
    assert engine.order_by_client_id("c-1").filled_qty == 6  # type: ignore[union-attr]


def test_report_reconciled_catch_up_then_stream_execution_is_not_doubled(
    engine: TradingEngine,
) -> None:
    submit(engine)
    engine.apply_report(report(S.NEW))
    # Reconciliation sees 5 filled at an average of 99.2 (two executions the stream lost).
    caught = engine.apply_report(
        report(S.PARTIALLY_FILLED, "5", filled_avg_price=D("99.2"), event="reconciled")
    )
    # The stream then delivers the second of those executions late.
    late = engine.apply_report(
        report(
            S.PARTIALLY_FILLED,
            "5",
            filled_avg_price=D("99.2"),
            fill_qty=D(2),
            fill_price=D(99),
            execution_id="e-2",
        )
    )
    fills = [e for e in caught.events if isinstance(e, OrderFillEvent)]
    assert [(f.fill_qty, f.fill_price) for f in fills] == [(5, D("99.2"))]
    assert late.events == []
    assert engine.account().cash == D(100_000) - D(496)


def test_report_fill_ids_survive_replay() -> None:
    engine = external_engine()
    events = list(engine.open_account(AccountConfig(starting_cash=D(100_000))))
    events += engine.submit_order(
        SubmitOrder(
            symbol="AAPL",
            side=OrderSide.BUY,
            order_type=OrderType.LIMIT,
            time_in_force=Tif.DAY,
            qty=D(10),
            limit_price=D("100"),
            client_order_id="c-1",
        )
    ).events
    fill = report(S.PARTIALLY_FILLED, "3", fill_qty=D(3), fill_price=D(99), execution_id="e-1")
    events += engine.apply_report(report(S.NEW)).events
    events += engine.apply_report(fill).events

    replayed = EngineState.replay(events, rate_memory=engine.core.risk.rate_memory)
    order = engine.order_by_client_id("c-1")
    assert order is not None
    again = replayed.orders[order.order_id]
    assert again.fill_ids == engine.state.orders[order.order_id].fill_ids and again.fill_ids
    assert again.broker_order_id == BROKER_ID and again.filled_qty == 3


def test_report_rejected_on_pending_order_rejects_and_releases_reservation(
    engine: TradingEngine,
) -> None:
    submit(engine)
    result = engine.apply_report(
        report(S.REJECTED, broker_order_id="", reason="Alpaca refused the order: no")
    )
    assert [type(e) for e in result.events] == [OrderRejected]
    order = engine.order_by_client_id("c-1")
    assert order is not None and order.status is S.REJECTED
    assert order.reason == "Alpaca refused the order: no"
    assert engine.state.reserved == 0 and engine.state.open_order_count == 0


def test_cancel_external_requests_then_broker_cancel_ends_it(engine: TradingEngine) -> None:
    submit(engine)
    engine.apply_report(report(S.NEW))
    order_id = engine.order_by_client_id("c-1").order_id  # type: ignore[union-attr]

    requested = engine.cancel_order(CancelOrder(order_id=order_id))
    again = engine.cancel_order(CancelOrder(order_id=order_id))
    stale = engine.apply_report(report(S.NEW))
    done = engine.apply_report(report(S.CANCELED))

    assert [type(e) for e in requested.events] == [OrderCancelRequested]
    assert again.duplicate and again.events == []
    assert stale.events == []
    assert [type(e) for e in done.events] == [OrderCanceled]
    assert engine.order_by_client_id("c-1").status is S.CANCELED  # type: ignore[union-attr]


def test_cancel_refused_by_broker_makes_the_order_work_again(engine: TradingEngine) -> None:
    submit(engine)
    engine.apply_report(report(S.NEW))
    order_id = engine.order_by_client_id("c-1").order_id  # type: ignore[union-attr]
    engine.cancel_order(CancelOrder(order_id=order_id))

    result = engine.apply_report(report(S.NEW, event="order_cancel_rejected"))

    assert [type(e) for e in result.events] == [OrderStatusChanged]
    order = engine.order_by_client_id("c-1")
    assert order is not None and order.status is S.NEW and not order.cancel_requested
    assert engine.state.reserved == D(1000)


def test_report_replaced_links_the_replacement(engine: TradingEngine) -> None:
    from trading_engine.domain.commands import ReplaceOrder

    submit(engine)
    engine.apply_report(report(S.NEW))
    old = engine.order_by_client_id("c-1")
    assert old is not None
    outcome = engine.replace_order(
        ReplaceOrder(order_id=old.order_id, limit_price=D("101"), client_order_id="c-2")
    )
    assert outcome.order_id is not None
    assert engine.order(old.order_id).status is S.NEW  # type: ignore[union-attr]

    result = engine.apply_report(report(S.REPLACED))

    assert [type(e) for e in result.events] == [OrderReplaced]
    assert engine.order(old.order_id).replaced_by == outcome.order_id  # type: ignore[union-attr]


def test_report_for_unknown_order_is_ignored_with_the_reason(engine: TradingEngine) -> None:
    result = engine.apply_report(report(S.NEW, coid="stranger"))
    assert result.events == []
    assert result.ignored == "no order with client_order_id 'stranger'"


def test_report_fill_without_price_waits(engine: TradingEngine) -> None:
    submit(engine)
    result = engine.apply_report(report(S.PARTIALLY_FILLED, "2"))
    assert [type(e) for e in result.events] == [OrderAcknowledged]
    assert result.ignored is not None and "without a price" in result.ignored


def test_submit_external_bracket_is_rejected(engine: TradingEngine) -> None:
    outcome = engine.submit_order(
        SubmitOrder(
            symbol="AAPL",
            side=OrderSide.BUY,
            order_type=OrderType.LIMIT,
            time_in_force=Tif.DAY,
            qty=D(1),
            limit_price=D("100"),
            order_class=OrderClass.BRACKET,
            take_profit=TakeProfit(limit_price=D("110")),
            stop_loss=StopLoss(stop_price=D("90")),
        )
    )
    assert outcome.rejected_reason is not None
    assert "not routed to the broker" in outcome.rejected_reason


def test_broker_events_and_state_survive_json_codecs(engine: TradingEngine) -> None:
    from trading_engine.service.codec import decode_event, encode_event
    from trading_engine.service.state_codec import decode_state, encode_state

    submit(engine)
    emitted = engine.apply_report(report(S.NEW)).events
    order_id = engine.order_by_client_id("c-1").order_id  # type: ignore[union-attr]
    emitted += engine.cancel_order(CancelOrder(order_id=order_id)).events

    assert [decode_event(encode_event(e)) for e in emitted] == emitted
    restored = decode_state(encode_state(engine.state)).orders[order_id]
    assert restored.broker_order_id == BROKER_ID and restored.cancel_requested
