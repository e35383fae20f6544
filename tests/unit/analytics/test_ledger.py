"""The position ledger: average cost, realised P&L, fees, cash, round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.domain.errors import AnalyticsInputError
from analytics.domain.ledger import Fill, PositionState, apply_fill, fold_fills, plain

T0 = datetime(2024, 3, 4, 15, tzinfo=UTC)
D = Decimal


def _fill(n: int, side: str, qty: str, price: str, fee: str = "0") -> Fill:
    return Fill(T0 + timedelta(minutes=n), n, side, D(qty), D(price), D(fee))  # type: ignore[arg-type]


def test_fold_fills_buys_average_their_cost() -> None:
    steps, trips = fold_fills(
        PositionState(), [_fill(1, "buy", "10", "100", "1"), _fill(2, "buy", "30", "104", "1")]
    )
    after = steps[-1].after
    assert (after.qty, after.avg_cost, after.realized, after.fees) == (D(40), D(103), D(0), D(2))
    assert after.cash_flow == D(-1000 - 1 - 3120 - 1)
    assert after.turnover == D(4120)
    assert trips == []


def test_fold_fills_partial_close_realises_against_the_average() -> None:
    steps, trips = fold_fills(
        PositionState(), [_fill(1, "buy", "10", "100", "1"), _fill(2, "sell", "4", "110", "1")]
    )
    after = steps[-1].after
    assert steps[-1].realized_delta == D(40)
    assert (after.qty, after.avg_cost, after.realized) == (D(6), D(100), D(40))
    assert after.trip_fills == 2
    assert trips == []


def test_fold_fills_closing_the_position_records_a_round_trip_net_of_fees() -> None:
    steps, trips = fold_fills(
        PositionState(),
        [
            _fill(1, "buy", "10", "100", "1"),
            _fill(2, "sell", "4", "110", "1"),
            _fill(3, "sell", "6", "90", "1"),
        ],
    )
    assert steps[-1].after.qty == 0
    assert steps[-1].after.avg_cost == 0
    assert steps[-1].after.trip_opened_at is None
    [trip] = trips
    assert (trip.trip_no, trip.direction, trip.fills) == (1, "long", 3)
    assert (trip.opened_at, trip.closed_at) == (
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=3),
    )
    assert (trip.realized, trip.fees, trip.pnl, trip.peak_qty) == (D(-20), D(3), D(-23), D(10))


def test_fold_fills_flip_closes_one_trip_and_opens_the_next_splitting_the_fee() -> None:
    steps, trips = fold_fills(
        PositionState(),
        [_fill(1, "buy", "20", "100", "2"), _fill(2, "sell", "50", "105", "5")],
    )
    after = steps[-1].after
    assert (after.qty, after.avg_cost) == (D(-30), D(105))
    [trip] = trips
    assert trip.realized == D(100)  # 20 x 5
    assert trip.fees == D(2) + D(2)  # the opening fee and 20/50 of the flipping fee
    assert (after.trips, after.trip_fees, after.trip_peak_qty) == (2, D(3), D(30))

    steps, trips = fold_fills(after, [_fill(3, "buy", "30", "100", "1")])
    [short] = trips
    assert (short.trip_no, short.direction, short.realized, short.pnl) == (
        2,
        "short",
        D(150),
        D(146),
    )
    assert steps[-1].after.qty == 0


def test_fold_fills_out_of_order_is_refused() -> None:
    with pytest.raises(AnalyticsInputError, match="order"):
        fold_fills(PositionState(), [_fill(2, "buy", "1", "1"), _fill(1, "buy", "1", "1")])


@pytest.mark.parametrize(
    ("side", "qty", "price", "fee"),
    [
        ("hold", "1", "1", "0"),
        ("buy", "0", "1", "0"),
        ("buy", "1", "0", "0"),
        ("buy", "1", "1", "-1"),
    ],
)
def test_fill_invalid_values_are_refused(side: str, qty: str, price: str, fee: str) -> None:
    with pytest.raises(AnalyticsInputError):
        Fill(T0, 1, side, D(qty), D(price), D(fee))  # type: ignore[arg-type]


def test_plain_removes_positive_exponents_only() -> None:
    assert str(plain(D("1E+1"))) == "10"
    assert str(plain(D("1.50"))) == "1.50"
    assert str(plain(D("-2.5E+3"))) == "-2500"


def test_fold_fills_results_have_no_positive_exponents() -> None:
    steps, _ = fold_fills(
        PositionState(), [_fill(1, "buy", "10.0", "100"), _fill(2, "buy", "10", "100")]
    )
    assert str(steps[-1].after.avg_cost) == "100"


amounts = st.decimals(min_value=D("0.01"), max_value=D(1000), places=2)


@given(
    st.lists(
        st.tuples(st.sampled_from(["buy", "sell"]), amounts, amounts, amounts),
        min_size=1,
        max_size=30,
    ),
    amounts,
)
def test_fold_fills_cash_and_value_always_equal_realised_fees_and_unrealised(
    fills: list[tuple[str, Decimal, Decimal, Decimal]], mark: Decimal
) -> None:
    """cash flow + qty x mark = realised - fees + qty x (mark - average cost), after any fills;
    and the closed trips' P&L plus the open trip's equals realised - fees."""
    state = PositionState()
    closed = D(0)
    for n, (side, qty, price, fee) in enumerate(fills):
        step, trip = apply_fill(state, Fill(T0, n, side, qty, price, fee))  # type: ignore[arg-type]
        state = step.after
        if trip is not None:
            closed += trip.pnl
    left = state.cash_flow + state.qty * mark
    right = state.realized - state.fees + state.qty * (mark - state.avg_cost)
    assert abs(left - right) < D("1e-15")
    open_trip = state.trip_realized - state.trip_fees
    assert abs(closed + open_trip - (state.realized - state.fees)) < D("1e-15")
