"""The synthetic market: deterministic GBM with regimes, volume profile, spread, bars."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from market_data.domain.synthetic import SyntheticMarket, spread_multiplier, volume_weight
from trader_common.contracts import BarClosed, QuoteUpdated, TradePrinted

OPEN = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)  # 09:30 New York (winter)


def run(market: SyntheticMarket, steps: int, start: datetime = OPEN, every: float = 1.0) -> list:
    events = []
    for i in range(steps):
        events.extend(market.step(start + timedelta(seconds=i * every)))
    return events


def snapshot(events: list) -> list[tuple]:
    return [
        (
            type(e).__name__,
            e.symbol,
            e.ts_event,
            *sorted(e.model_dump(exclude={"event_id", "ts_recorded"}).items()),
        )
        for e in events
    ]


def test_synthetic_same_seed_same_sequence() -> None:
    first = run(SyntheticMarket(["AAPL", "MSFT"], seed=42), 200)
    second = run(SyntheticMarket(["AAPL", "MSFT"], seed=42), 200)
    assert snapshot(first) == snapshot(second)


def test_synthetic_different_seed_different_prices() -> None:
    first = run(SyntheticMarket(["AAPL"], seed=1), 100)
    second = run(SyntheticMarket(["AAPL"], seed=2), 100)
    assert snapshot(first) != snapshot(second)


def test_synthetic_symbol_path_does_not_depend_on_other_symbols() -> None:
    alone = run(SyntheticMarket(["AAPL"], seed=7), 50)
    together = run(SyntheticMarket(["MSFT", "AAPL", "SPY"], seed=7), 50)
    assert snapshot([e for e in alone if e.symbol == "AAPL"]) == snapshot(
        [e for e in together if e.symbol == "AAPL"]
    )


def test_synthetic_every_step_quotes_every_symbol_with_positive_spread() -> None:
    market = SyntheticMarket(["AAPL", "BTC/USD", "X"], seed=3, start_price=Decimal("0.5"))
    for i in range(300):
        quotes = [
            e for e in market.step(OPEN + timedelta(seconds=i)) if isinstance(e, QuoteUpdated)
        ]
        assert sorted(q.symbol for q in quotes) == ["AAPL", "BTC/USD", "X"]
        assert all(Decimal(0) < q.bid < q.ask for q in quotes)


def test_synthetic_trades_print_at_bid_or_ask() -> None:
    market = SyntheticMarket(["AAPL"], seed=5)
    for i in range(100):
        events = market.step(OPEN + timedelta(seconds=i))
        quote = next(e for e in events if isinstance(e, QuoteUpdated))
        trade = next(e for e in events if isinstance(e, TradePrinted))
        assert trade.price in (quote.bid, quote.ask)
        assert trade.size >= 1


def test_synthetic_regimes_change_over_a_long_run() -> None:
    market = SyntheticMarket(["AAPL"], seed=11, step_seconds=60)
    seen = set()
    for i in range(2000):
        market.step(OPEN + timedelta(minutes=i))
        seen.add(market.regime("AAPL"))
    assert seen == {"calm", "trending", "volatile"}


def test_synthetic_volume_profile_is_u_shaped_over_the_session() -> None:
    at_open = volume_weight(OPEN)
    midday = volume_weight(OPEN + timedelta(hours=3, minutes=15))
    near_close = volume_weight(OPEN + timedelta(hours=6, minutes=29))
    overnight = volume_weight(OPEN - timedelta(hours=5))
    assert at_open > midday < near_close
    assert overnight < midday


def test_synthetic_trade_sizes_are_larger_at_the_open_than_midday() -> None:
    def mean_size(start: datetime) -> Decimal:
        market = SyntheticMarket(["AAPL"], seed=9)
        trades = [e for e in run(market, 300, start) if isinstance(e, TradePrinted)]
        return sum((t.size for t in trades), Decimal(0)) / len(trades)

    assert mean_size(OPEN) > mean_size(OPEN + timedelta(hours=3))


def test_synthetic_spread_widest_at_open_and_outside_session() -> None:
    assert spread_multiplier(OPEN) > spread_multiplier(OPEN + timedelta(hours=2))
    assert spread_multiplier(OPEN - timedelta(hours=1)) > spread_multiplier(
        OPEN + timedelta(hours=2)
    )


def test_synthetic_minute_bar_closes_when_the_minute_passes_and_matches_trades() -> None:
    market = SyntheticMarket(["AAPL"], seed=4)
    events = run(market, 61, every=1.0)  # 14:30:00 .. 14:31:00
    bars = [e for e in events if isinstance(e, BarClosed)]
    assert len(bars) == 1
    minute_trades = [
        e
        for e in events
        if isinstance(e, TradePrinted) and e.ts_event < OPEN + timedelta(minutes=1)
    ]
    bar = bars[0]
    assert (bar.ts_open, bar.ts_event, bar.timeframe) == (OPEN, OPEN + timedelta(minutes=1), "1Min")
    assert bar.open == minute_trades[0].price
    assert bar.close == minute_trades[-1].price
    assert bar.high == max(t.price for t in minute_trades)
    assert bar.volume == sum((t.size for t in minute_trades), Decimal(0))
    assert market.latest_bar("AAPL") == bar
    assert market.bars("AAPL", OPEN, OPEN + timedelta(hours=1)) == [bar]


def test_synthetic_output_is_pinned_across_the_session() -> None:
    # The digest of 2,000 steps from before the open to after the close, computed with the
    # implementation that worked out the session weight, spread multiplier and minute per
    # symbol (now once per step): the hoisting changed no price, size, spread or bar.
    market = SyntheticMarket(
        ["AAPL", "BTC/USD", "PENNY"], seed=11, start_price=Decimal("1.5"), step_seconds=13.0
    )
    digest = hashlib.sha256()
    start = OPEN - timedelta(minutes=30)
    for i in range(2000):
        for event in market.step(start + timedelta(seconds=13 * i)):
            digest.update(event.model_dump_json(exclude={"event_id", "ts_recorded"}).encode())
    assert digest.hexdigest() == "4efb150605fa7610253f16e5b42edd289f78ee18333b0072915414acc17efc54"


def test_synthetic_next_quotes_are_the_quotes_of_a_step() -> None:
    quotes_only = SyntheticMarket(["AAPL", "MSFT"], seed=3)
    full = SyntheticMarket(["AAPL", "MSFT"], seed=3)
    for i in range(120):
        at = OPEN + timedelta(seconds=i)
        expected = [e for e in full.step(at) if isinstance(e, QuoteUpdated)]
        assert snapshot(quotes_only.next_quotes(at)) == snapshot(expected)
