"""What an external broker says about one of our orders, as the domain reads it.

A report is a snapshot of the order at the broker (status, cumulative filled quantity and
average price), optionally with the one execution that produced it. The core applies it as
the same domain events the paper exchange emits, and only what advances the order: fills are
the difference between the broker's cumulative ``filled_qty`` and ours, so a report that is
late, repeated, or already covered by a reconciliation changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid5

from trader_common.contracts.trade import OrderStatus

from .records import record

# Namespace of fill ids derived from the broker's execution ids (and of reconciled fills).
FILL_ID_NAMESPACE = UUID("0f4b3c9a-2d1e-4c57-8e6a-5b7d9e1f3a24")


@record
class BrokerReport:
    """One snapshot of an order at the broker.

    ``event``: what the broker called it ("fill", "canceled", "submitted", "reconciled", ...),
    for reasons and logs. ``fill_qty``/``fill_price``/``execution_id``: the execution this
    report announces, when it announces one. ``replaced_by``: the broker's id of the order that
    replaced this one."""

    client_order_id: str
    status: OrderStatus
    filled_qty: Decimal
    ts: datetime
    event: str
    broker_order_id: str | None = None
    filled_avg_price: Decimal | None = None
    execution_id: str | None = None
    fill_qty: Decimal | None = None
    fill_price: Decimal | None = None
    replaced_by: str | None = None
    reason: str | None = None


def fill_id_for(broker_order_id: str | None, execution_id: str | None, filled_qty: Decimal) -> UUID:
    """A fill's id: from the broker's execution id when the fill is exactly that execution,
    else from the order and the cumulative quantity it brings the order to (a reconciled
    catch-up). The same report therefore always yields the same fill id."""
    if execution_id:
        return uuid5(FILL_ID_NAMESPACE, f"exec:{execution_id}")
    return uuid5(FILL_ID_NAMESPACE, f"order:{broker_order_id}:filled:{filled_qty.normalize()}")


@record
class PositionDifference:
    """One symbol whose position the engine and the broker see differently (signed
    quantities: negative is short)."""

    symbol: str
    engine_qty: Decimal
    broker_qty: Decimal


def position_differences(
    engine: Mapping[str, Decimal], broker: Mapping[str, Decimal]
) -> list[PositionDifference]:
    """Every symbol whose quantity differs, by symbol; a symbol missing on one side is flat."""
    zero = Decimal(0)
    return [
        PositionDifference(symbol=symbol, engine_qty=ours, broker_qty=theirs)
        for symbol in sorted(engine.keys() | broker.keys())
        if (ours := engine.get(symbol, zero)) != (theirs := broker.get(symbol, zero))
    ]
