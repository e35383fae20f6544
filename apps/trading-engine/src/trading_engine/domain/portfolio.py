"""Positions and the account: cash, marks, realized and unrealized P&L, fees, buying power.

Accounting identity (holds exactly, by construction): for every fill, the cash moved by the
opening part becomes cost basis and the cash moved by the closing part is realized P&L plus
the basis it removes. Hence, at any time,

    cash + market value = starting cash + realized P&L + unrealized P&L - fees

with unrealized P&L = market value - cost basis. Cash moves by whole cents (each fill's amount
is rounded to the cent, as on a brokerage statement); fees are whole cents too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .events import AccountType
from .numbers import ZERO, cents


@dataclass(slots=True)
class Position:
    symbol: str
    qty: Decimal = ZERO  # signed: negative is short
    cost_basis: Decimal = ZERO  # signed: paid for a long, received (negative) for a short
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO

    @property
    def avg_entry_price(self) -> Decimal:
        if self.qty == ZERO:
            return ZERO
        return abs(self.cost_basis / self.qty)

    def market_value(self, mark: Decimal) -> Decimal:
        return self.qty * mark

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return self.qty * mark - self.cost_basis


@dataclass(slots=True)
class Account:
    account_id: str
    account_type: AccountType
    starting_cash: Decimal
    margin_multiplier: Decimal
    shorting_enabled: bool
    cash: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    marks: dict[str, Decimal] = field(default_factory=dict)
    # Running totals, adjusted by difference so equity is O(1) after every fill and mark.
    market_value: Decimal = ZERO
    gross_exposure: Decimal = ZERO
    total_cost_basis: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO

    @property
    def equity(self) -> Decimal:
        return self.cash + self.market_value

    @property
    def unrealized_pnl(self) -> Decimal:
        return self.market_value - self.total_cost_basis

    @property
    def is_margin(self) -> bool:
        return self.account_type is AccountType.MARGIN

    @property
    def can_short(self) -> bool:
        return self.is_margin and self.shorting_enabled

    def position_qty(self, symbol: str) -> Decimal:
        position = self.positions.get(symbol)
        return ZERO if position is None else position.qty

    def buying_power(self, reserved: Decimal) -> Decimal:
        """Cash accounts spend settled cash (sales proceeds count at once; settlement is not
        modelled). Margin accounts: equity x multiplier, less what positions and the working
        orders that open exposure already use."""
        if self.account_type is AccountType.CASH:
            return max(ZERO, self.cash - reserved)
        return max(ZERO, self.equity * self.margin_multiplier - self.gross_exposure - reserved)

    def apply_fill(
        self,
        symbol: str,
        buy: bool,
        qty: Decimal,
        price: Decimal,
        gross: Decimal,
        fee: Decimal,
    ) -> None:
        position = self.positions.get(symbol)
        if position is None:
            position = self.positions[symbol] = Position(symbol)
        mark = self.marks.get(symbol)
        if mark is None:
            mark = self.marks[symbol] = price
        old_qty = position.qty
        old_basis = position.cost_basis
        signed = qty if buy else -qty
        self.cash += (-gross if buy else gross) - fee
        position.fees += fee
        self.fees += fee
        if old_qty == ZERO or (old_qty > ZERO) == buy:
            position.cost_basis = old_basis + (gross if buy else -gross)
        else:
            held = abs(old_qty)
            closing = min(qty, held)
            closing_gross = gross if closing == qty else cents(closing * price)
            removed = old_basis if closing == held else cents(old_basis * closing / held)
            realized = (closing_gross if old_qty > ZERO else -closing_gross) - removed
            position.realized_pnl += realized
            self.realized_pnl += realized
            position.cost_basis = old_basis - removed
            if qty > closing:  # the fill went through zero: the rest opens the other way
                opening_gross = gross - closing_gross
                position.cost_basis += opening_gross if buy else -opening_gross
        position.qty = old_qty + signed
        self.total_cost_basis += position.cost_basis - old_basis
        self.market_value += signed * mark
        self.gross_exposure += (abs(position.qty) - abs(old_qty)) * mark

    def set_mark(self, symbol: str, price: Decimal) -> None:
        old = self.marks.get(symbol)
        self.marks[symbol] = price
        if old is None or old == price:
            return
        position = self.positions.get(symbol)
        if position is None or position.qty == ZERO:
            return
        move = price - old
        self.market_value += position.qty * move
        self.gross_exposure += abs(position.qty) * move
