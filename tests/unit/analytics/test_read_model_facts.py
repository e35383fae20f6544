"""What the read model takes from each event."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from analytics.domain.facts import EventRejectedError, facts_of, utc_day
from trader_common.contracts import (
    BarClosed,
    OrderAccepted,
    OrderFilled,
    OrderPartiallyFilled,
    PositionChanged,
    QuoteUpdated,
)

T0 = datetime(2024, 3, 4, 23, 30, tzinfo=UTC)
D = Decimal


def _facts(event: object) -> object:
    return facts_of(
        event,  # type: ignore[arg-type]
        default_account_id="paper",
        starting_cash_of=lambda account: D(50_000) if account == "big" else D(100_000),
    )


def _filled(**changes: object) -> OrderFilled:
    fields: dict[str, object] = {
        "ts_event": T0,
        "order_id": uuid4(),
        "client_order_id": "c1",
        "strategy_id": "momentum",
        "symbol": "AAPL",
        "fill_id": uuid4(),
        "side": "sell",
        "fill_qty": D(5),
        "fill_price": D("171.25"),
        "fee": D("0.5"),
        "filled_qty": D(5),
        "avg_fill_price": D("171.25"),
    }
    fields.update(changes)
    return OrderFilled.model_validate(fields)


def test_facts_of_fill_is_a_fill_of_the_default_account_and_a_mark() -> None:
    event = _filled()
    facts = _facts(event)
    [fill] = facts.fills  # type: ignore[attr-defined]
    assert (fill.account_id, fill.strategy_id, fill.symbol, fill.side) == (
        "paper",
        "momentum",
        "AAPL",
        "sell",
    )
    assert (fill.qty, fill.price, fill.fee, fill.at) == (D(5), D("171.25"), D("0.5"), T0)
    assert fill.fill_id == event.fill_id
    [mark] = facts.marks  # type: ignore[attr-defined]
    assert (mark.symbol, mark.price, mark.source) == ("AAPL", D("171.25"), "fill")
    [account] = facts.accounts  # type: ignore[attr-defined]
    assert (account.account_id, account.starting_cash) == ("paper", D(100_000))
    assert facts.day == date(2024, 3, 4)  # type: ignore[attr-defined]


def test_facts_of_fill_carrying_an_account_uses_it() -> None:
    class FilledWithAccount(OrderFilled):  # the optional field the engine may add
        account_id: str | None = None

    event = FilledWithAccount.model_validate({**_filled().model_dump(), "account_id": "big"})
    facts = _facts(event)
    assert facts.fills[0].account_id == "big"  # type: ignore[attr-defined]
    assert facts.accounts[0].starting_cash == D(50_000)  # type: ignore[attr-defined]


def test_facts_of_partial_fill_is_a_fill() -> None:
    event = OrderPartiallyFilled.model_validate(
        {
            **_filled().model_dump(exclude={"avg_fill_price"}),
            "side": "buy",
            "leaves_qty": D(5),
        }
    )
    assert _facts(event).fills[0].side == "buy"  # type: ignore[attr-defined]


def test_facts_of_quote_is_a_mark_at_the_mid() -> None:
    event = QuoteUpdated(
        ts_event=T0,
        symbol="AAPL",
        source="t",
        bid=D("170.10"),
        ask=D("170.15"),
        bid_size=1,
        ask_size=1,
    )
    [mark] = _facts(event).marks  # type: ignore[attr-defined]
    assert (mark.price, mark.source, mark.rank) == (D("170.125"), "quote", 4)


def test_facts_of_bar_is_the_bar_and_a_mark_at_its_close() -> None:
    event = BarClosed(
        ts_event=T0,
        ts_open=T0.replace(hour=14),
        symbol="SPY",
        source="t",
        timeframe="1Day",
        open=D(500),
        high=D(505),
        low=D(499),
        close=D(503),
        volume=D(10),
    )
    facts = _facts(event)
    assert facts.bars[0].close == D(503)  # type: ignore[attr-defined]
    assert facts.marks[0].source == "bar"  # type: ignore[attr-defined]


def test_facts_of_position_change_is_a_mark_unless_unpriced() -> None:
    def changed(price: str) -> PositionChanged:
        return PositionChanged(
            ts_event=T0,
            account_id="paper",
            strategy_id="s",
            symbol="AAPL",
            qty=D(3),
            avg_entry_price=D(170),
            market_price=D(price),
            realized_pnl=D(0),
            unrealized_pnl=D(0),
            fees=D(0),
        )

    assert _facts(changed("171")).marks[0].source == "position"  # type: ignore[attr-defined]
    assert _facts(changed("0")).marks == ()  # type: ignore[attr-defined]


def test_facts_of_other_events_is_none() -> None:
    accepted = OrderAccepted(
        ts_event=T0,
        order_id=uuid4(),
        client_order_id="c",
        strategy_id="s",
        symbol="AAPL",
        side="buy",
        order_type="market",
        time_in_force="day",
        qty=D(1),
    )
    assert _facts(accepted) is None


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"strategy_id": "mo\x00mentum"}, "NUL"),
        ({"fill_qty": D("1e18")}, "finite amount below"),
        ({"fill_price": D("1e300")}, "finite amount below"),
    ],
)
def test_facts_of_unusable_fill_is_rejected(changes: dict[str, object], says: str) -> None:
    with pytest.raises(EventRejectedError, match=says):
        _facts(_filled(**changes))


def test_utc_day_of_an_aware_moment_is_its_utc_date() -> None:
    from datetime import timedelta, timezone

    new_york = timezone(timedelta(hours=-5))
    assert utc_day(datetime(2024, 3, 4, 21, 0, tzinfo=new_york)) == date(2024, 3, 5)
