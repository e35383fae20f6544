"""The log of recent cycles: what each started with and, once its workflow is over, how it ended
(decisions, the orders it placed and how they ended, or why it failed).

Pure: the service (service/cycles.py) reads workflow states and orders and calls these rules.
The log is bounded (the newest ``keep`` cycles) so it fits one state-store key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

RUNNING = "running"
# Dapr Workflow runtime statuses that end a cycle, as the log names them.
FINISHED_STATUSES = frozenset({"completed", "failed", "terminated"})
FILLED = "filled"
CANCELED_STATUSES = frozenset({"canceled", "expired"})
DEFAULT_KEEP = 100


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """One order a cycle placed, as the trading engine last reported it."""

    order_id: str
    symbol: str
    side: str
    qty: Decimal | None
    status: str
    filled_qty: Decimal
    avg_fill_price: Decimal | None
    accepted_at: datetime | None  # when the engine created (acknowledged) it

    @classmethod
    def from_engine(cls, order: Mapping[str, Any]) -> OrderOutcome:
        qty = order.get("qty")
        price = order.get("avg_fill_price")
        return cls(
            order_id=str(order["order_id"]),
            symbol=str(order["symbol"]),
            side=str(order["side"]),
            qty=Decimal(str(qty)) if qty is not None else None,
            status=str(order["status"]),
            filled_qty=Decimal(str(order.get("filled_qty") or 0)),
            avg_fill_price=Decimal(str(price)) if price is not None else None,
            accepted_at=_time(order.get("created_at")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "symbol": self.symbol,
            "side": self.side,
            "qty": str(self.qty) if self.qty is not None else None,
            "status": self.status,
            "filled_qty": str(self.filled_qty),
            "avg_fill_price": str(self.avg_fill_price) if self.avg_fill_price is not None else None,
            "accepted_at": self.accepted_at.isoformat() if self.accepted_at else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrderOutcome:
        return cls.from_engine({**data, "created_at": data.get("accepted_at")})


@dataclass(frozen=True, slots=True)
class WorkflowSnapshot:
    """What the workflow runtime says about a cycle."""

    status: str  # running, pending, completed, failed, terminated, suspended, …
    updated_at: datetime | None
    output: Mapping[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CycleRecord:
    cycle_id: str
    strategy_id: str
    symbols: tuple[str, ...]
    started_at: datetime  # the cron tick (or the request) that started it
    trigger: str = "cron"  # cron | request
    status: str = RUNNING
    finished_at: datetime | None = None
    decisions: int | None = None
    orders: tuple[OrderOutcome, ...] = ()
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.started_at).total_seconds())

    @property
    def filled(self) -> int:
        return sum(1 for o in self.orders if o.status == FILLED)

    @property
    def canceled(self) -> int:
        return sum(1 for o in self.orders if o.status in CANCELED_STATUSES)

    def finish(
        self, snapshot: WorkflowSnapshot | None, orders: Sequence[OrderOutcome]
    ) -> CycleRecord:
        """This cycle as its ended workflow and its orders say. A workflow the runtime no
        longer knows (purged, lost with its state store) counts as failed."""
        if snapshot is None:
            return replace(
                self,
                status="failed",
                orders=tuple(orders),
                error="the workflow runtime has no record of this cycle",
            )
        output = snapshot.output or {}
        decisions = output.get("decisions")
        return replace(
            self,
            status=snapshot.status,
            finished_at=snapshot.updated_at,
            decisions=int(decisions) if decisions is not None else None,
            orders=tuple(orders),
            error=snapshot.error if snapshot.status != "completed" else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle_id": self.cycle_id,
            "strategy_id": self.strategy_id,
            "symbols": list(self.symbols),
            "trigger": self.trigger,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_seconds": self.duration_seconds,
            "decisions": self.decisions,
            "placed": len(self.orders),
            "filled": self.filled,
            "canceled": self.canceled,
            "orders": [o.to_json() for o in self.orders],
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CycleRecord:
        started = _time(data["started_at"])
        if started is None:
            raise ValueError(f"cycle {data.get('cycle_id')} has no start time")
        decisions = data.get("decisions")
        return cls(
            cycle_id=str(data["cycle_id"]),
            strategy_id=str(data["strategy_id"]),
            symbols=tuple(str(s) for s in data.get("symbols", ())),
            started_at=started,
            trigger=str(data.get("trigger", "cron")),
            status=str(data.get("status", RUNNING)),
            finished_at=_time(data.get("finished_at")),
            decisions=int(decisions) if decisions is not None else None,
            orders=tuple(OrderOutcome.from_json(o) for o in data.get("orders", ())),
            error=data.get("error"),
        )


def snapshot_status(name: str) -> str:
    """A runtime status name (RUNNING, COMPLETED, …) as the log names it."""
    status = name.lower()
    return status if status in FINISHED_STATUSES else RUNNING


def add_started(
    log: Sequence[CycleRecord], record: CycleRecord, keep: int = DEFAULT_KEEP
) -> list[CycleRecord]:
    """The log with ``record`` appended (once: a cycle id already there is left as it is),
    trimmed to the newest ``keep`` cycles."""
    if any(r.cycle_id == record.cycle_id for r in log):
        return list(log)
    ordered = sorted([*log, record], key=lambda r: r.started_at)
    return ordered[-keep:]


def with_finished(log: Sequence[CycleRecord], finished: Iterable[CycleRecord]) -> list[CycleRecord]:
    """The log with these records replacing the ones of the same id (ids not in the log,
    trimmed away meanwhile, are dropped)."""
    by_id = {r.cycle_id: r for r in finished}
    return [by_id.get(r.cycle_id, r) for r in log]


def select(
    log: Sequence[CycleRecord], since: datetime | None = None, limit: int = DEFAULT_KEEP
) -> list[CycleRecord]:
    """Cycles started at or after ``since``, oldest first, at most the newest ``limit``."""
    chosen = [r for r in log if since is None or r.started_at >= since]
    chosen.sort(key=lambda r: r.started_at)
    return chosen[-limit:] if limit > 0 else []
