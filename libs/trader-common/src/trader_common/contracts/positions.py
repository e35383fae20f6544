"""position.updates: position changes after fills and marks, keyed by symbol."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from .base import Event, Topic


class PositionChanged(Event):
    """A position's quantity, average price or P&L changed."""

    event_name: ClassVar[str] = "position.changed"
    topic: ClassVar[Topic] = Topic.POSITIONS
    partition_field: ClassVar[str] = "symbol"

    account_id: str = Field(min_length=1)
    strategy_id: str = Field(min_length=1, max_length=64)
    symbol: str = Field(min_length=1, max_length=32)
    qty: Decimal = Field(description="Signed quantity: negative is short")
    avg_entry_price: Decimal = Field(ge=0)
    market_price: Decimal = Field(ge=0)
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal = Field(ge=0)
