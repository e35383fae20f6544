"""The local model: a deterministic momentum + mean-reversion ensemble with volatility-scaled
sizing. No key, no network; the same context always gives the same decision and rationale.

Score = 0.7 × momentum + 0.3 × mean reversion, both in [-1, 1]:
- momentum: 5- and 20-bar returns in units of their expected volatility, plus the MACD histogram;
- mean reversion: RSI-14 distance from 50 (overbought pulls down, oversold up).
Above +threshold the target weight is long, below -threshold short (or flat without shorting);
the weight scales with score × risk budget / volatility and is capped by the risk limits. The
order is the whole-share difference from the current position, trimmed to every limit, so the
model's own decisions pass validation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from .commands import Task
from .context import DecisionContext

MODEL_NAME = "ensemble-v1"


@dataclass(frozen=True, slots=True)
class EnsembleParams:
    momentum_weight: float = 0.7
    reversion_weight: float = 0.3
    threshold: float = 0.15
    risk_budget_per_bar: float = 0.01
    min_volatility: float = 1e-4
    wide_spread_bps: float = 50.0


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.2f}%"


def _hold(reason: str, symbol: str, horizon: str, confidence: float = 0.0) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "action": "hold",
        "order_type": "market",
        "confidence": round(confidence, 2),
        "horizon": horizon,
        "rationale": reason,
    }


def decide(ctx: DecisionContext, params: EnsembleParams | None = None) -> dict[str, Any]:
    """The decision for ``ctx``, shaped like the decision tool's input."""
    p = params or EnsembleParams()
    horizon = "20 bars" if ctx.task != Task.FAST else "5 bars"
    f = ctx.features.bars
    price = ctx.reference_price
    if f is None or price is None or price <= 0:
        return _hold(
            f"Hold: no bars or price for {ctx.symbol} as of {ctx.as_of.isoformat()}.",
            ctx.symbol,
            horizon,
        )
    if f.ret_20 is None or f.volatility_20 is None or f.rsi_14 is None or f.ret_5 is None:
        return _hold(
            f"Hold: {f.bars_used} bars of history, 21 needed for momentum, volatility and RSI.",
            ctx.symbol,
            horizon,
        )

    vol = max(f.volatility_20, p.min_volatility)
    mom_raw = 0.5 * f.ret_5 / (vol * math.sqrt(5)) + 0.5 * f.ret_20 / (vol * math.sqrt(20))
    macd_term = 0.0 if f.macd_hist is None else math.tanh(f.macd_hist / vol)
    momentum = math.tanh(mom_raw / 2.0) * 0.8 + 0.2 * macd_term
    reversion = -math.tanh((f.rsi_14 - 50.0) / 25.0)
    score = p.momentum_weight * momentum + p.reversion_weight * reversion

    spread_bps = ctx.features.spread_bps
    spread_factor = 1.0
    if spread_bps is not None and spread_bps > p.wide_spread_bps:
        spread_factor = p.wide_spread_bps / spread_bps
    confidence = min(1.0, abs(score)) * spread_factor

    limits = ctx.limits
    max_w = float(limits.max_position_weight)
    weight = score * p.risk_budget_per_bar / vol
    weight = max(-max_w, min(max_w, weight))
    if not limits.allow_short:
        weight = max(0.0, weight)
    equity = float(ctx.account.equity)
    current = float(ctx.position.qty)
    current_w = current * float(price) / equity
    target_qty = weight * equity / float(price)
    delta = target_qty - current

    drivers = (
        f"momentum {momentum:+.2f} (5-bar {_pct(f.ret_5)}, 20-bar {_pct(f.ret_20)}, "
        f"MACD hist {f.macd_hist if f.macd_hist is not None else 'n/a'}), "
        f"mean reversion {reversion:+.2f} (RSI {f.rsi_14:.1f}), "
        f"volatility {vol * 100:.2f}%/bar"
        + (f", spread {spread_bps:.1f} bps" if spread_bps is not None else "")
    )
    summary = f"Score {score:+.2f} from {drivers}."
    if abs(score) < p.threshold:
        return _hold(
            f"Hold: {summary} Within ±{p.threshold} of neutral.", ctx.symbol, horizon, confidence
        )
    if Decimal(repr(round(confidence, 2))) < ctx.limits.min_confidence:
        return _hold(
            f"Hold: {summary} Confidence {confidence:.2f} is below the strategy's minimum "
            f"{ctx.limits.min_confidence}.",
            ctx.symbol,
            horizon,
            confidence,
        )
    bullish = score > 0
    if (bullish and delta <= 0) or (not bullish and delta >= 0):
        return _hold(
            f"Hold: {summary} Position weight {current_w * 100:.2f}% is already at or beyond the "
            f"{weight * 100:.2f}% target.",
            ctx.symbol,
            horizon,
            confidence,
        )

    qty = Decimal(repr(abs(delta))).quantize(Decimal("1"), rounding=ROUND_DOWN)
    caps: list[Decimal] = []
    if limits.max_order_qty is not None:
        caps.append(limits.max_order_qty)
    if limits.max_order_notional is not None:
        caps.append(limits.max_order_notional / price)
    if bullish:
        caps.append(ctx.account.buying_power / price)
    elif not limits.allow_short:
        caps.append(max(ctx.position.qty, Decimal("0")))
    for cap in caps:
        qty = min(qty, cap.quantize(Decimal("1"), rounding=ROUND_DOWN))
    if qty < 1:
        return _hold(
            f"Hold: {summary} The order to reach {weight * 100:.2f}% is under one share after "
            "the risk limits.",
            ctx.symbol,
            horizon,
            confidence,
        )
    action = "buy" if bullish else "sell"
    new_w = (current + (float(qty) if bullish else -float(qty))) * float(price) / equity
    return {
        "symbol": ctx.symbol,
        "action": action,
        "quantity": int(qty),
        "target_weight": float(
            Decimal(repr(weight)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
        ),
        "order_type": "market",
        "confidence": round(confidence, 2),
        "horizon": horizon,
        "rationale": (
            f"{action.capitalize()} {qty} {ctx.symbol}: {summary} Weight {current_w * 100:.2f}% → "
            f"{new_w * 100:.2f}% (target {weight * 100:.2f}%, max {max_w * 100:.2f}%)."
        ),
    }
