"""The position ledger of one (account, strategy, symbol): average-cost accounting of its fills,
in order, with the round trips they open and close.

Definitions (docs/analytics-metrics.md, "Read model"):

* a fill of signed quantity ``q`` (buy ``+``, sell ``-``) at price ``p`` with fee ``f`` moves
  cash by ``-q * p - f`` and adds ``|q| * p`` to turnover and ``f`` to fees;
* a fill on the side of the position (or from flat) extends it: the average cost becomes the
  quantity-weighted mean of the old average and ``p``;
* a fill against the position closes ``c = min(|q|, |qty|)`` of it and realises
  ``c * (p - avg) * sign(qty)`` (before fees); the average is unchanged, zero when the position
  is closed, and ``p`` for the remainder when the fill flips the position;
* a round trip runs from a fill that opens a position (from flat) to the fill that closes it
  (back to flat, or flipped). Its P&L is its realised P&L minus its fees; a flipping fill's fee
  is split between the trip it closes and the one it opens in proportion to the quantities.

Exact Decimal arithmetic throughout (no rounding beyond the context's 28 significant digits of
the average-cost division), so folding the same fills always gives the same amounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Context, Decimal
from typing import Literal

from .errors import AnalyticsInputError

ZERO = Decimal(0)
Side = Literal["buy", "sell"]
_WIDE = Context(prec=200)


def plain(value: Decimal) -> Decimal:
    """``value`` without a positive exponent (``1E+1`` → ``10``), as PostgreSQL NUMERIC gives
    it back: so a state folded in memory and one read back from the database are identical,
    digit for digit, and so is everything computed from them."""
    if value.is_finite() and value.as_tuple().exponent > 0:  # type: ignore[operator]
        return value.quantize(Decimal(1), context=_WIDE)
    return value


@dataclass(frozen=True, slots=True)
class Fill:
    """An execution as the ledger needs it. ``seq`` orders fills with the same ``at``."""

    at: datetime
    seq: int
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise AnalyticsInputError(f"fill at {self.at.isoformat()} has no timezone")
        if self.side not in ("buy", "sell"):
            raise AnalyticsInputError(f"fill side must be 'buy' or 'sell', got {self.side!r}")
        for name, value in (("qty", self.qty), ("price", self.price), ("fee", self.fee)):
            if not value.is_finite():
                raise AnalyticsInputError(f"fill {name} must be finite, got {value}")
        if self.qty <= 0 or self.price <= 0 or self.fee < 0:
            raise AnalyticsInputError(
                f"fill needs qty > 0, price > 0 and fee >= 0: got qty {self.qty}, "
                f"price {self.price}, fee {self.fee}"
            )

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side == "buy" else -self.qty


@dataclass(frozen=True, slots=True)
class PositionState:
    """The position after some fills (all zero before the first)."""

    qty: Decimal = ZERO
    avg_cost: Decimal = ZERO
    realized: Decimal = ZERO
    """Cumulative realised P&L, before fees."""
    fees: Decimal = ZERO
    turnover: Decimal = ZERO
    cash_flow: Decimal = ZERO
    """Cumulative cash moved by the fills: ``sum(-q * p - f)``."""
    fills: int = 0
    trips: int = 0
    """Round trips opened so far (the one in progress included)."""
    trip_opened_at: datetime | None = None
    trip_realized: Decimal = ZERO
    trip_fees: Decimal = ZERO
    trip_fills: int = 0
    trip_peak_qty: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return self.qty != 0

    def plain(self) -> PositionState:
        """The same state with every amount in :func:`plain` form."""
        return replace(
            self,
            qty=plain(self.qty),
            avg_cost=plain(self.avg_cost),
            realized=plain(self.realized),
            fees=plain(self.fees),
            turnover=plain(self.turnover),
            cash_flow=plain(self.cash_flow),
            trip_realized=plain(self.trip_realized),
            trip_fees=plain(self.trip_fees),
            trip_peak_qty=plain(self.trip_peak_qty),
        )


@dataclass(frozen=True, slots=True)
class PositionStep:
    """One fill applied: the fill, what it realised, and the position after it."""

    fill: Fill
    notional: Decimal
    realized_delta: Decimal
    after: PositionState


@dataclass(frozen=True, slots=True)
class RoundTrip:
    trip_no: int
    direction: Literal["long", "short"]
    opened_at: datetime
    closed_at: datetime
    peak_qty: Decimal
    fills: int
    realized: Decimal
    fees: Decimal

    @property
    def pnl(self) -> Decimal:
        """Realised P&L net of the trip's fees."""
        return self.realized - self.fees


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


def _open_trip(state: PositionState, fill: Fill, qty: Decimal, fee: Decimal) -> PositionState:
    return replace(
        state,
        trips=state.trips + 1,
        trip_opened_at=fill.at,
        trip_realized=ZERO,
        trip_fees=fee,
        trip_fills=1,
        trip_peak_qty=abs(qty),
    )


def apply_fill(state: PositionState, fill: Fill) -> tuple[PositionStep, RoundTrip | None]:
    """The position after ``fill``, and the round trip it closed (if it closed one)."""
    q = fill.signed_qty
    notional = fill.qty * fill.price
    common = replace(
        state,
        fees=state.fees + fill.fee,
        turnover=state.turnover + notional,
        cash_flow=state.cash_flow - q * fill.price - fill.fee,
        fills=state.fills + 1,
    )
    closed: RoundTrip | None = None
    if state.qty == 0 or _sign(state.qty) == _sign(q):
        qty = state.qty + q
        avg = (abs(state.qty) * state.avg_cost + fill.qty * fill.price) / abs(qty)
        after = replace(common, qty=qty, avg_cost=avg)
        if state.qty == 0:
            after = _open_trip(after, fill, qty, fill.fee)
        else:
            after = replace(
                after,
                trip_fees=state.trip_fees + fill.fee,
                trip_fills=state.trip_fills + 1,
                trip_peak_qty=max(state.trip_peak_qty, abs(qty)),
            )
        return PositionStep(fill, notional, ZERO, after), None

    closing = min(fill.qty, abs(state.qty))
    realized = closing * (fill.price - state.avg_cost) * _sign(state.qty)
    qty = state.qty + q
    closing_fee = fill.fee if closing == fill.qty else fill.fee * closing / fill.qty
    after = replace(
        common,
        qty=qty,
        avg_cost=state.avg_cost if qty != 0 and _sign(qty) == _sign(state.qty) else ZERO,
        realized=state.realized + realized,
        trip_realized=state.trip_realized + realized,
        trip_fees=state.trip_fees + closing_fee,
        trip_fills=state.trip_fills + 1,
    )
    if qty == 0 or _sign(qty) != _sign(state.qty):
        assert state.trip_opened_at is not None  # an open position always has a trip
        closed = RoundTrip(
            trip_no=state.trips,
            direction="long" if state.qty > 0 else "short",
            opened_at=state.trip_opened_at,
            closed_at=fill.at,
            peak_qty=state.trip_peak_qty,
            fills=after.trip_fills,
            realized=after.trip_realized,
            fees=after.trip_fees,
        )
        after = replace(
            after,
            trip_opened_at=None,
            trip_realized=ZERO,
            trip_fees=ZERO,
            trip_fills=0,
            trip_peak_qty=ZERO,
        )
        if qty != 0:  # flipped: the remainder opens a new trip at the fill price
            after = _open_trip(
                replace(after, avg_cost=fill.price), fill, qty, fill.fee - closing_fee
            )
    return PositionStep(fill, notional, realized, after), closed


def fold_fills(
    state: PositionState, fills: Iterable[Fill]
) -> tuple[list[PositionStep], list[RoundTrip]]:
    """Apply ``fills`` (in (at, seq) order) to ``state``: every step, and the trips closed."""
    steps: list[PositionStep] = []
    trips: list[RoundTrip] = []
    previous: tuple[datetime, int] | None = None
    for fill in fills:
        order = (fill.at, fill.seq)
        if previous is not None and order < previous:
            raise AnalyticsInputError(
                f"fills must be folded in (time, sequence) order: {fill.at.isoformat()} "
                f"#{fill.seq} comes after {previous[0].isoformat()} #{previous[1]}"
            )
        previous = order
        step, closed = apply_fill(state, fill)
        step = replace(
            step,
            notional=plain(step.notional),
            realized_delta=plain(step.realized_delta),
            after=step.after.plain(),
        )
        if closed is not None:
            closed = replace(
                closed,
                peak_qty=plain(closed.peak_qty),
                realized=plain(closed.realized),
                fees=plain(closed.fees),
            )
        steps.append(step)
        if closed is not None:
            trips.append(closed)
        state = step.after
    return steps, trips
