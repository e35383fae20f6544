"""Dual-run: compare two runs of the same strategy (say, the in-process backtest and the
distributed platform) order by order, fill by fill, position by position and P&L figure by
P&L figure, and report every difference. Pure: plain values in, a list of differences out.

Orders are matched by client order id; fills by client order id and their rank within that
order (first fill, second fill, ...); positions by symbol (a missing position is flat); P&L
figures by name. Prices compare within ``price_tolerance``, money within ``money_tolerance``
(both exact by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from .runner import BacktestResult, PlacedOrder

ZERO = Decimal(0)
Kind = Literal["order", "fill", "position", "pnl"]


@dataclass(frozen=True, slots=True)
class OrderRecord:
    client_order_id: str
    symbol: str
    side: str
    qty: Decimal
    status: str  # "filled", "rejected", "canceled", ...


@dataclass(frozen=True, slots=True)
class FillRecord:
    client_order_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class RunRecord:
    orders: Sequence[OrderRecord] = ()
    fills: Sequence[FillRecord] = ()
    positions: Mapping[str, Decimal] = field(default_factory=dict)
    pnl: Mapping[str, Decimal] = field(default_factory=dict)  # e.g. realized, fees, equity


@dataclass(frozen=True, slots=True)
class Difference:
    kind: Kind
    key: str
    field: str
    left: str | None  # None: absent on that side
    right: str | None

    def describe(self) -> str:
        if self.left is None:
            return f"{self.kind} {self.key}: only in the right run"
        if self.right is None:
            return f"{self.kind} {self.key}: only in the left run"
        return f"{self.kind} {self.key}: {self.field} {self.left} != {self.right}"


def _text(value: object) -> str:
    return str(value)


def _diff_fields(
    kind: Kind,
    key: str,
    left: Mapping[str, object],
    right: Mapping[str, object],
    tolerances: Mapping[str, Decimal],
) -> list[Difference]:
    out: list[Difference] = []
    for name, a in left.items():
        b = right[name]
        tol = tolerances.get(name)
        if tol is not None and isinstance(a, Decimal) and isinstance(b, Decimal):
            same = abs(a - b) <= tol
        else:
            same = a == b
        if not same:
            out.append(Difference(kind, key, name, _text(a), _text(b)))
    return out


def _keyed_orders(orders: Iterable[OrderRecord]) -> dict[str, OrderRecord]:
    return {o.client_order_id: o for o in orders}


def _keyed_fills(fills: Iterable[FillRecord]) -> dict[str, FillRecord]:
    rank: dict[str, int] = {}
    out: dict[str, FillRecord] = {}
    for f in fills:
        n = rank.get(f.client_order_id, 0) + 1
        rank[f.client_order_id] = n
        out[f"{f.client_order_id}#{n}"] = f
    return out


def _presence(kind: Kind, key: str, in_left: bool) -> Difference:
    return Difference(
        kind, key, "presence", "present" if in_left else None, None if in_left else "present"
    )


def compare_runs(
    left: RunRecord,
    right: RunRecord,
    *,
    price_tolerance: Decimal = ZERO,
    money_tolerance: Decimal = ZERO,
) -> list[Difference]:
    """Every difference between the two runs, in a stable order: orders, fills, positions,
    P&L; within each, by key. An empty list means the runs agree."""
    out: list[Difference] = []
    lo, ro = _keyed_orders(left.orders), _keyed_orders(right.orders)
    for key in sorted(lo.keys() | ro.keys()):
        a, b = lo.get(key), ro.get(key)
        if a is None or b is None:
            out.append(_presence("order", key, a is not None))
            continue
        out += _diff_fields(
            "order",
            key,
            {"symbol": a.symbol, "side": a.side, "qty": a.qty, "status": a.status},
            {"symbol": b.symbol, "side": b.side, "qty": b.qty, "status": b.status},
            {},
        )
    lf, rf = _keyed_fills(left.fills), _keyed_fills(right.fills)
    for key in sorted(lf.keys() | rf.keys()):
        fa, fb = lf.get(key), rf.get(key)
        if fa is None or fb is None:
            out.append(_presence("fill", key, fa is not None))
            continue
        out += _diff_fields(
            "fill",
            key,
            {"symbol": fa.symbol, "side": fa.side, "qty": fa.qty, "price": fa.price, "fee": fa.fee},
            {"symbol": fb.symbol, "side": fb.side, "qty": fb.qty, "price": fb.price, "fee": fb.fee},
            {"price": price_tolerance, "fee": money_tolerance},
        )
    for symbol in sorted(left.positions.keys() | right.positions.keys()):
        qa, qb = left.positions.get(symbol, ZERO), right.positions.get(symbol, ZERO)
        if qa != qb:
            out.append(Difference("position", symbol, "qty", str(qa), str(qb)))
    for name in sorted(left.pnl.keys() | right.pnl.keys()):
        ma, mb = left.pnl.get(name), right.pnl.get(name)
        if ma is None or mb is None:
            out.append(_presence("pnl", name, ma is not None))
        elif abs(ma - mb) > money_tolerance:
            out.append(Difference("pnl", name, "amount", str(ma), str(mb)))
    return out


def _pnl(realized: Decimal, fees: Decimal, cash: Decimal, equity: Decimal) -> dict[str, Decimal]:
    return {"realized_pnl": realized, "fees": fees, "final_cash": cash, "final_equity": equity}


def record_from_orders(
    orders: Iterable[PlacedOrder],
    positions: Mapping[str, Decimal],
    pnl: Mapping[str, Decimal],
) -> RunRecord:
    """A run as orders (with the status they ended in), fills per order (filled quantity,
    average price and fees: what the engine reports of every order), positions and P&L. Both
    sides of a dual-run go through here, so they are described the same way."""
    return RunRecord(
        orders=[OrderRecord(o.client_order_id, o.symbol, o.side, o.qty, o.status) for o in orders],
        fills=[
            FillRecord(o.client_order_id, o.symbol, o.side, o.filled_qty, o.avg_fill_price, o.fees)
            for o in orders
            if o.filled_qty > ZERO and o.avg_fill_price is not None
        ],
        positions={s: q for s, q in positions.items() if q},
        pnl=pnl,
    )


def record_of(result: BacktestResult) -> RunRecord:
    """A backtest's orders, fills, positions and P&L as a ``RunRecord``."""
    return record_from_orders(
        result.orders,
        result.positions,
        _pnl(result.realized_pnl, result.fees, result.final_cash, result.final_equity),
    )


def record_from_engine(
    orders: Iterable[Mapping[str, Any]],
    positions: Iterable[Mapping[str, Any]],
    account: Mapping[str, Any],
) -> RunRecord:
    """A trading engine's orders, positions and account, as its REST API returns them
    (GET /orders, /positions, /account), as a ``RunRecord`` (orders are matched by client
    order id, so their order in the list does not matter)."""

    def number(value: Any) -> Decimal:
        return Decimal(str(value))

    placed = [
        PlacedOrder(
            str(o["client_order_id"]),
            str(o["symbol"]),
            str(o["side"]),
            number(o["qty"]) if o.get("qty") is not None else ZERO,
            str(o["status"]),
            number(o["filled_qty"]),
            number(o["avg_fill_price"]) if o.get("avg_fill_price") is not None else None,
            number(o["fees"]),
        )
        for o in orders
    ]
    return record_from_orders(
        placed,
        {str(p["symbol"]): number(p["qty"]) for p in positions},
        _pnl(
            number(account["realized_pnl"]),
            number(account["fees"]),
            number(account["cash"]),
            number(account["equity"]),
        ),
    )
