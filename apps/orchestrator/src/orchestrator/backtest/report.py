"""The backtest report: a summary (JSON, with performance metrics from analytics'
``compute_metrics`` over the daily equity returns) and CSV files of trades, fills, rejections
and the equity curve."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from .runner import BacktestResult

SUMMARY = "summary.json"
TRADES = "trades.csv"
FILLS = "fills.csv"
EQUITY = "equity.csv"
REJECTIONS = "rejections.csv"


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _plain(value: object) -> object:
    """JSON-safe: Decimals as strings, nan/inf as None."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def equity_returns(result: BacktestResult) -> list[float]:
    """Simple daily returns of equity, the first against the starting cash."""
    previous = result.config.starting_cash
    out: list[float] = []
    for point in result.equity:
        out.append(float(point.equity / previous - 1) if previous else 0.0)
        previous = point.equity
    return out


def metrics(result: BacktestResult) -> dict[str, Any]:
    # Imported here: analytics brings numpy; the backtester itself does not need it.
    from analytics.domain.errors import AnalyticsInputError
    from analytics.domain.metrics import compute_metrics

    returns = equity_returns(result)
    try:
        computed = compute_metrics(returns, periods_per_year=252)
    except AnalyticsInputError as exc:
        return {"error": str(exc)}
    return {k: _plain(v) for k, v in computed.as_dict().items()}


def summary(result: BacktestResult, *, strategy: dict[str, object] | None = None) -> dict[str, Any]:
    cfg = result.config
    closed = [t for t in result.trades if t.exit_day is not None]
    wins = [t for t in closed if t.pnl > 0]
    first = result.equity[0].day.isoformat() if result.equity else None
    last = result.equity[-1].day.isoformat() if result.equity else None
    return {
        "strategy": strategy or {},
        "symbols": list(result.symbols),
        "bars": result.bars,
        "days": len(result.equity),
        "start": first,
        "end": last,
        "starting_cash": _money(cfg.starting_cash),
        "fee_bps": str(cfg.fee_bps),
        "slippage_bps": str(cfg.slippage_bps),
        "final_cash": _money(result.final_cash),
        "final_equity": _money(result.final_equity),
        "total_return_pct": (
            f"{(result.final_equity / cfg.starting_cash - 1) * 100:.4f}"
            if cfg.starting_cash
            else None
        ),
        "realized_pnl": _money(result.realized_pnl),
        "fees": _money(result.fees),
        "positions": {s: str(q) for s, q in sorted(result.positions.items())},
        "fills": len(result.fills),
        "trades": len(result.trades),
        "closed_trades": len(closed),
        "winning_trades": len(wins),
        "rejected_orders": len(result.rejections),
        "metrics": metrics(result),
    }


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])


def write_report(
    result: BacktestResult, out: Path, *, strategy: dict[str, object] | None = None
) -> dict[str, Any]:
    """Write the report files into ``out`` (created if missing); returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    data = summary(result, strategy=strategy)
    (out / SUMMARY).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _write_csv(
        out / TRADES,
        ("symbol", "entry_date", "entry_price", "qty", "exit_date", "exit_price", "pnl", "fees"),
        (
            (
                t.symbol,
                t.entry_day.isoformat(),
                t.entry_price,
                t.qty,
                t.exit_day.isoformat() if t.exit_day else None,
                t.exit_price,
                t.pnl,
                t.fees,
            )
            for t in result.trades
        ),
    )
    _write_csv(
        out / FILLS,
        ("date", "ts", "symbol", "side", "qty", "price", "fee", "client_order_id"),
        (
            (
                f.day.isoformat(),
                f.ts.isoformat(),
                f.symbol,
                f.side,
                f.qty,
                f.price,
                f.fee,
                f.client_order_id,
            )
            for f in result.fills
        ),
    )
    _write_csv(
        out / EQUITY,
        ("date", "ts", "cash", "equity"),
        (
            (p.day.isoformat(), p.ts.isoformat(), _money(p.cash), _money(p.equity))
            for p in result.equity
        ),
    )
    _write_csv(
        out / REJECTIONS,
        ("date", "symbol", "side", "qty", "reason", "client_order_id"),
        (
            (r.day.isoformat(), r.symbol, r.side, r.qty, r.reason, r.client_order_id)
            for r in result.rejections
        ),
    )
    return data
