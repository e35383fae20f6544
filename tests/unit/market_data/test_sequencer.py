"""De-duplication and per-symbol ordering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from market_data.domain.sequencer import Sequencer, identity, order_key, stream_key
from trader_common.contracts import BarClosed, QuoteUpdated, TradePrinted

T0 = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def quote(symbol: str, seconds: int, bid: str = "1.00", ask: str = "1.01") -> QuoteUpdated:
    return QuoteUpdated(
        symbol=symbol,
        source="t",
        ts_event=T0 + timedelta(seconds=seconds),
        bid=Decimal(bid),
        ask=Decimal(ask),
        bid_size=Decimal(1),
        ask_size=Decimal(1),
    )


def trade(symbol: str, seconds: int, price: str = "1", size: str = "1") -> TradePrinted:
    return TradePrinted(
        symbol=symbol,
        source="t",
        ts_event=T0 + timedelta(seconds=seconds),
        price=Decimal(price),
        size=Decimal(size),
    )


def bar(symbol: str, minute: int, close: str = "1") -> BarClosed:
    opens = T0 + timedelta(minutes=minute)
    return BarClosed(
        symbol=symbol,
        source="t",
        timeframe="1Min",
        ts_open=opens,
        ts_event=opens + timedelta(minutes=1),
        open=Decimal(1),
        high=Decimal(2),
        low=Decimal("0.5"),
        close=Decimal(close),
        volume=Decimal(1),
    )


def test_sequencer_exact_duplicate_in_later_batch_is_dropped() -> None:
    seq = Sequencer()
    first = seq.plan([quote("AAPL", 1)])
    seq.commit(first.admitted)
    again = seq.plan([quote("AAPL", 1)])
    assert again.admitted == []
    assert again.duplicates == 1


def test_sequencer_older_event_after_newer_is_dropped_as_late() -> None:
    seq = Sequencer()
    seq.commit(seq.plan([quote("AAPL", 5)]).admitted)
    plan = seq.plan([quote("AAPL", 4, bid="2", ask="3")])
    assert plan.admitted == []
    assert plan.out_of_order == 1


def test_sequencer_batch_out_of_order_is_reordered_per_symbol() -> None:
    seq = Sequencer()
    plan = seq.plan([quote("AAPL", 3), quote("MSFT", 1), quote("AAPL", 1), quote("AAPL", 2)])
    aapl = [e.ts_event for e in plan.admitted if e.symbol == "AAPL"]
    assert aapl == sorted(aapl)
    assert len(plan.admitted) == 4


def test_sequencer_different_trades_at_same_time_are_both_kept() -> None:
    seq = Sequencer()
    plan = seq.plan([trade("AAPL", 1, size="1"), trade("AAPL", 1, size="2")])
    assert len(plan.admitted) == 2


def test_sequencer_duplicate_within_one_batch_is_dropped() -> None:
    plan = Sequencer().plan([trade("AAPL", 1), trade("AAPL", 1)])
    assert len(plan.admitted) == 1
    assert plan.duplicates == 1


def test_sequencer_revised_bar_with_same_open_is_a_duplicate() -> None:
    seq = Sequencer()
    seq.commit(seq.plan([bar("AAPL", 0, close="1")]).admitted)
    assert seq.plan([bar("AAPL", 0, close="1.5")]).duplicates == 1


def test_sequencer_streams_are_independent_per_symbol_and_kind() -> None:
    seq = Sequencer()
    seq.commit(seq.plan([quote("AAPL", 10)]).admitted)
    plan = seq.plan([quote("MSFT", 1), trade("AAPL", 1)])
    assert len(plan.admitted) == 2


def test_sequencer_plan_without_commit_leaves_state_unchanged() -> None:
    seq = Sequencer()
    seq.plan([quote("AAPL", 1)])
    assert len(seq.plan([quote("AAPL", 1)]).admitted) == 1


events = st.builds(
    lambda kind, symbol, second, price: (
        quote(symbol, second, bid=str(price), ask=str(price + 1))
        if kind == "q"
        else trade(symbol, second, price=str(price))
    ),
    st.sampled_from(["q", "t"]),
    st.sampled_from(["AAPL", "MSFT", "BTC/USD"]),
    st.integers(0, 20),
    st.integers(1, 3),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(events, max_size=12), max_size=5))
def test_sequencer_published_streams_never_go_back_in_time_or_repeat(
    batches: list[list[QuoteUpdated | TradePrinted]],
) -> None:
    seq = Sequencer()
    published = []
    for batch in batches:
        plan = seq.plan(batch)
        seq.commit(plan.admitted)
        published.extend(plan.admitted)
    by_stream: dict[tuple[str, ...], list] = {}
    for event in published:
        by_stream.setdefault(stream_key(event), []).append(event)
    for stream in by_stream.values():
        times = [order_key(e) for e in stream]
        assert times == sorted(times)
        identities = [identity(e) for e in stream]
        assert len(identities) == len(set(identities))
