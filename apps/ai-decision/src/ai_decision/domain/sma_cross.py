"""The sma-cross local model: the backtester's built-in ``sma-cross`` strategy as a decision
model, so a strategy can run through the platform (orchestrator → ai-decision → trading engine)
and be checked against the in-process backtest on the same bars (``trader dual-run``).

Long-only: buy ``quantity`` when the fast SMA of closes crosses above the slow one while flat,
sell the whole position when it crosses below; market orders. The crossing rule is the
backtester's own function (``trader_common.signals.sma_crossings``) over the context's recent
bars, which are point-in-time (closed at or before ``as_of``). The side before a crossing is
read from those bars only: give the context at least ``slow + 1`` bars (``recent_bars``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trader_common.signals import sma_crossings

from .context import DecisionContext

MODEL_NAME = "sma-cross-v1"
ZERO = Decimal(0)


class SmaCrossConfigError(ValueError):
    """An sma-cross parameter is out of range; the message names it."""


@dataclass(frozen=True, slots=True)
class SmaCrossParams:
    fast: int = 10
    slow: int = 30
    quantity: Decimal = Decimal(100)

    def __post_init__(self) -> None:
        if self.fast < 1:
            raise SmaCrossConfigError(f"fast must be at least 1, got {self.fast}")
        if self.slow <= self.fast:
            raise SmaCrossConfigError(
                f"slow must be longer than fast, got fast {self.fast} and slow {self.slow}"
            )
        if not self.quantity.is_finite() or self.quantity <= ZERO:
            raise SmaCrossConfigError(f"quantity must be positive, got {self.quantity}")

    @property
    def bars_needed(self) -> int:
        return self.slow + 1


def _sma(closes: list[Decimal], n: int) -> Decimal:
    return sum(closes[-n:], ZERO) / n


def _number(qty: Decimal) -> int | float:
    """The decision tool's quantity is a JSON number: whole shares stay exact as an int."""
    return int(qty) if qty == qty.to_integral_value() else float(qty)


def _hold(ctx: DecisionContext, rationale: str) -> dict[str, Any]:
    return {
        "symbol": ctx.symbol,
        "action": "hold",
        "order_type": "market",
        "confidence": 1.0,
        "horizon": "next bar",
        "rationale": rationale,
    }


def decide(ctx: DecisionContext, params: SmaCrossParams | None = None) -> dict[str, Any]:
    """The decision for ``ctx``, shaped like the decision tool's input."""
    p = params or SmaCrossParams()
    closes = [b.close for b in ctx.recent_bars if b.ts_close <= ctx.as_of]
    if len(closes) < p.bars_needed:
        return _hold(
            ctx,
            f"Hold: {len(closes)} bars of {ctx.symbol} up to {ctx.as_of.isoformat()}, "
            f"{p.bars_needed} needed for SMA({p.fast}) and SMA({p.slow}) and their last crossing.",
        )
    signal = sma_crossings(closes, p.fast, p.slow)[-1]
    fast, slow = _sma(closes, p.fast), _sma(closes, p.slow)
    held = ctx.position.qty
    averages = f"SMA({p.fast}) {fast:.4f} vs SMA({p.slow}) {slow:.4f}"
    if signal > 0 and held == ZERO:
        return {
            "symbol": ctx.symbol,
            "action": "buy",
            "quantity": _number(p.quantity),
            "order_type": "market",
            "confidence": 1.0,
            "horizon": "until the averages cross back",
            "rationale": f"Buy {p.quantity} {ctx.symbol}: {averages}, the fast average crossed "
            "above the slow one while flat.",
        }
    if signal < 0 and held > ZERO:
        return {
            "symbol": ctx.symbol,
            "action": "sell",
            "quantity": _number(held),
            "order_type": "market",
            "confidence": 1.0,
            "horizon": "until the averages cross back",
            "rationale": f"Sell all {held} {ctx.symbol}: {averages}, the fast average crossed "
            "below the slow one.",
        }
    crossing = {1: "crossed above", -1: "crossed below", 0: "did not cross"}[signal]
    return _hold(ctx, f"Hold: {averages}; the fast average {crossing}; position {held}.")
