"""One trading cycle's plan: from accepted decisions to orders, and when a cycle is finished.

Pure: the workflow (adapters/workflow.py) does the I/O and calls these rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

TERMINAL_STATUSES = frozenset(
    {"filled", "canceled", "expired", "rejected", "replaced", "done_for_day"}
)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    symbol: str
    side: str  # buy | sell
    qty: Decimal
    order_type: str
    limit_price: Decimal | None
    client_order_id: str

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "symbol": self.symbol,
            "side": self.side,
            "qty": str(self.qty),
            "type": self.order_type,
            "time_in_force": "gtc",
            "client_order_id": self.client_order_id,
        }
        if self.limit_price is not None:
            body["limit_price"] = str(self.limit_price)
        return body


def client_order_id(cycle_id: str, symbol: str) -> str:
    """Deterministic per cycle and symbol: a retried or resumed step submits the same order,
    which the engine answers with the existing one instead of a second."""
    return f"{cycle_id}:{symbol}"[:128]


def intent_from_decision(cycle_id: str, decision: dict[str, Any]) -> OrderIntent | None:
    """The order an accepted decision asks for, or None for hold / no quantity."""
    action = decision.get("action")
    if action not in ("buy", "sell"):
        return None
    try:
        qty = Decimal(str(decision.get("qty")))
    except (InvalidOperation, ValueError):
        return None
    if not qty.is_finite() or qty <= 0:
        return None
    symbol = str(decision["symbol"])
    order_type = str(decision.get("order_type") or "market")
    limit = decision.get("limit_price")
    return OrderIntent(
        symbol=symbol,
        side=str(action),
        qty=qty,
        order_type=order_type,
        limit_price=Decimal(str(limit)) if limit is not None else None,
        client_order_id=client_order_id(cycle_id, symbol),
    )


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES
