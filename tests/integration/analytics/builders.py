"""Events for the analytics read-model tests: builders, and a scenario of several trading days
with two strategies, three traded symbols, partial fills, a flipped position, fees, quotes,
engine position marks and benchmark bars."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from trader_common.contracts import (
    BarClosed,
    Event,
    OrderAccepted,
    OrderFilled,
    OrderPartiallyFilled,
    PositionChanged,
    QuoteUpdated,
)

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)  # a Monday, 09:30 New York


def day(n: int, hours: float = 0.0) -> datetime:
    """``n`` days after T0, plus ``hours``."""
    return T0 + timedelta(days=n, hours=hours)


def fill(
    at: datetime,
    side: str,
    qty: str,
    price: str,
    *,
    fee: str = "0",
    symbol: str = "AAPL",
    strategy: str = "momentum",
    leaves: str | None = None,
) -> OrderFilled | OrderPartiallyFilled:
    common = {
        "ts_event": at,
        "order_id": uuid4(),
        "client_order_id": f"c-{uuid4().hex[:8]}",
        "strategy_id": strategy,
        "symbol": symbol,
        "fill_id": uuid4(),
        "side": side,
        "fill_qty": Decimal(qty),
        "fill_price": Decimal(price),
        "fee": Decimal(fee),
        "filled_qty": Decimal(qty),
    }
    if leaves is not None:
        return OrderPartiallyFilled(**common, leaves_qty=Decimal(leaves))
    return OrderFilled(**common, avg_fill_price=Decimal(price))


def quote(at: datetime, bid: str, ask: str, symbol: str = "AAPL") -> QuoteUpdated:
    return QuoteUpdated(
        ts_event=at,
        symbol=symbol,
        source="test",
        bid=Decimal(bid),
        ask=Decimal(ask),
        bid_size=Decimal(100),
        ask_size=Decimal(100),
    )


def bar(at: datetime, close: str, symbol: str = "SPY") -> BarClosed:
    price = Decimal(close)
    return BarClosed(
        ts_event=at,
        symbol=symbol,
        source="test",
        timeframe="1Day",
        ts_open=at - timedelta(hours=6, minutes=30),
        open=price,
        high=price + 1,
        low=price - 1,
        close=price,
        volume=Decimal(1_000_000),
    )


def position(
    at: datetime, symbol: str, qty: str, price: str, *, strategy: str = "momentum"
) -> PositionChanged:
    return PositionChanged(
        ts_event=at,
        account_id="paper",
        strategy_id=strategy,
        symbol=symbol,
        qty=Decimal(qty),
        avg_entry_price=Decimal(price),
        market_price=Decimal(price),
        realized_pnl=Decimal(0),
        unrealized_pnl=Decimal(0),
        fees=Decimal(0),
    )


def accepted(at: datetime, symbol: str = "AAPL") -> OrderAccepted:
    return OrderAccepted(
        ts_event=at,
        order_id=uuid4(),
        client_order_id="c-accepted",
        strategy_id="momentum",
        symbol=symbol,
        side="buy",
        order_type="market",
        time_in_force="day",
        qty=Decimal(1),
    )


def scenario() -> list[Event]:
    """Eight trading days (weekend skipped), in time order."""
    events: list[Event] = []
    closes = ["5000", "5010", "4990", "5030", "5045", "5020", "5060", "5075"]
    aapl = [
        ("170", "171"),
        ("172", "173"),
        ("168", "169"),
        ("175", "176"),
        ("177", "178"),
        ("174", "175"),
        ("179", "180"),
        ("181", "182"),
    ]
    msft = [
        ("400", "401"),
        ("402", "403"),
        ("398", "399"),
        ("405", "406"),
        ("404", "405"),
        ("410", "411"),
        ("408", "409"),
        ("412", "413"),
    ]
    trading_days = [0, 1, 2, 3, 4, 7, 8, 9]
    for i, n in enumerate(trading_days):
        events.append(quote(day(n, 0.5), *aapl[i], symbol="AAPL"))
        events.append(quote(day(n, 0.6), *msft[i], symbol="MSFT"))
        events.append(bar(day(n, 6.5), closes[i]))
    events += [
        accepted(day(0, 1)),
        fill(day(0, 1), "buy", "60", "171", fee="1.00", leaves="40"),
        fill(day(0, 1.1), "buy", "40", "171.5", fee="0.75"),
        position(day(0, 1.1), "AAPL", "100", "171.2"),
        fill(day(1, 2), "buy", "20", "402.5", fee="0.50", symbol="MSFT", strategy="meanrev"),
        position(day(1, 2), "MSFT", "20", "402.5", strategy="meanrev"),
        fill(day(2, 3), "sell", "30", "169", fee="0.60"),
        fill(day(3, 1), "sell", "70", "175.5", fee="1.40"),  # closes AAPL: round trip 1
        fill(day(3, 2), "sell", "50", "405", fee="1.00", symbol="MSFT", strategy="meanrev"),  # flip
        fill(day(4, 1), "buy", "25", "177.5", fee="0.50", strategy="meanrev"),
        fill(day(7, 1), "buy", "30", "405", fee="0.60", symbol="MSFT", strategy="meanrev"),  # flat
        fill(day(8, 1), "sell", "10", "52.5", fee="0.10", symbol="NVDA"),  # a short
        fill(day(9, 1), "buy", "10", "50", fee="0.10", symbol="NVDA"),
        quote(day(8, 2), "51", "52", symbol="NVDA"),
    ]
    return sorted(events, key=lambda event: event.ts_event)


def by_partition(events: Sequence[Event]) -> dict[tuple[str, str], list[Event]]:
    """The events per broker partition (topic, key), each in its original order."""
    partitions: dict[tuple[str, str], list[Event]] = {}
    for event in events:
        partitions.setdefault((str(event.topic), event.partition_key()), []).append(event)
    return partitions


def interleaved(events: Sequence[Event], seed: int) -> list[Event]:
    """Another arrival order a broker could deliver: partitions interleaved at random, each
    partition's own order kept."""
    import random

    rng = random.Random(seed)
    queues = [list(events) for events in by_partition(events).values()]
    out: list[Event] = []
    while queues:
        queue = rng.choice(queues)
        out.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    return out
