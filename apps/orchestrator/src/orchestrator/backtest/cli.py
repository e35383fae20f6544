"""`trader backtest FILE...`: run the built-in sma-cross strategy over daily bars from CSV files
through the trading engine in-process, and write a report.

``backtest_app`` is a Typer app with a single callback, so it works standalone and when the
``trader`` CLI forwards its arguments to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from .bars import BarFileError, BarSeries, load_series
from .options import CashOption, FastOption, QtyOption, SlowOption
from .report import write_report
from .runner import BacktestConfig, BacktestConfigError, Backtester
from .strategy import SmaCross, SmaCrossParams, StrategyConfigError

PROGRESS_FROM_BARS = 20_000

backtest_app = typer.Typer(
    help="Backtest a strategy over daily bars (CSV) with the trading engine in-process.",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"allow_interspersed_args": True},
    subcommand_metavar="",
)


class _OptionError(ValueError):
    pass


def _decimal(option: str, text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise _OptionError(f"{option} must be a number, got {text!r}") from None
    if not value.is_finite():
        raise _OptionError(f"{option} must be a finite number, got {text!r}")
    return value


@contextmanager
def progress_bar(
    total: int, enabled: bool, description: str = "backtest (bars)", from_total: int = 0
) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for work of ``total`` units (none when disabled or when
    ``total`` is under ``from_total``); the callable takes the units done so far."""
    if not enabled or total < from_total:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.update(task, completed=done)


def _print_summary(data: dict[str, Any], out: Path) -> None:
    m = data["metrics"]

    def pct(key: str) -> str:
        value = m.get(key)
        return "n/a" if value is None else f"{value:.2%}"

    def ratio(key: str) -> str:
        value = m.get(key)
        return "n/a" if value is None else f"{value:.3f}"

    lines = [
        f"sma-cross fast {data['strategy']['fast']} slow {data['strategy']['slow']} "
        f"qty {data['strategy']['qty']} on {', '.join(data['symbols'][:5])}"
        + (f" (+{len(data['symbols']) - 5} more)" if len(data["symbols"]) > 5 else ""),
        f"{data['start']} -> {data['end']}: {data['bars']} bars, {data['days']} days",
        f"starting cash   {data['starting_cash']:>16}",
        f"final equity    {data['final_equity']:>16}   ({data['total_return_pct']}%)",
        f"final cash      {data['final_cash']:>16}",
        f"realized P&L    {data['realized_pnl']:>16}",
        f"fees            {data['fees']:>16}",
        f"fills {data['fills']}, trades {data['trades']} ({data['closed_trades']} closed, "
        f"{data['winning_trades']} winners), rejected orders {data['rejected_orders']}",
    ]
    if "error" in m:
        lines.append(f"metrics: {m['error']}")
    else:
        lines.append(
            f"CAGR {pct('cagr')}, volatility {pct('annual_volatility')}, Sharpe {ratio('sharpe')}, "
            f"max drawdown {pct('max_drawdown')}"
        )
    lines.append(f"report written to {out}/")
    typer.echo("\n".join(lines))


@backtest_app.callback(invoke_without_command=True)
def backtest(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="CSV files of daily bars (date,open,high,low,close,volume), one symbol each, "
            "or directories of them. The symbol is --symbol, the file's symbol column, or the "
            "file name before the first '_'.",
            show_default=False,
        ),
    ],
    fast: FastOption = 10,
    slow: SlowOption = 30,
    qty: QtyOption = "100",
    cash: CashOption = "100000",
    fee_bps: Annotated[
        str, typer.Option("--fee-bps", help="Fee in basis points of each fill's value.")
    ] = "0",
    slippage_bps: Annotated[
        str, typer.Option("--slippage-bps", help="Slippage in basis points, against the order.")
    ] = "0",
    symbol: Annotated[
        str | None,
        typer.Option("--symbol", help="Symbol of a single FILE.", show_default=False),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the report files.")] = Path(
        "backtest-report"
    ),
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report summary as JSON.")
    ] = False,
) -> None:
    """Run sma-cross (long-only: buy --qty when the fast SMA of closes crosses above the slow
    one, sell it all when it crosses below; market orders filled at the next bar's open) and
    write summary.json, trades.csv, fills.csv, equity.csv and rejections.csv to --out."""
    try:
        shares = _decimal("--qty", qty)
        if shares != shares.to_integral_value():
            raise _OptionError(f"--qty must be whole shares, got {qty!r}")
        params = SmaCrossParams(fast, slow, shares)
        config = BacktestConfig(
            starting_cash=_decimal("--cash", cash),
            fee_bps=_decimal("--fee-bps", fee_bps),
            slippage_bps=_decimal("--slippage-bps", slippage_bps),
            strategy_id="sma-cross",
        )
        series: list[BarSeries] = load_series(files, symbol)
        if out.exists() and not out.is_dir():
            raise _OptionError(f"--out {out} exists and is not a folder")
    except (_OptionError, StrategyConfigError, BacktestConfigError, BarFileError) as error:
        typer.secho(f"✗ {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    total = sum(len(s.bars) for s in series)
    with progress_bar(total, enabled=True, from_total=PROGRESS_FROM_BARS) as progress:
        result = Backtester(lambda _: SmaCross(params), config).run(series, progress)
    strategy = {"name": "sma-cross", "fast": fast, "slow": slow, "qty": str(params.qty)}
    try:
        data = write_report(result, out, strategy=strategy)
    except OSError as error:
        typer.secho(
            f"✗ cannot write the report to {out}: {error.strerror or error}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1) from None
    if json_output:
        typer.echo(json.dumps(data, indent=2, allow_nan=False))
    else:
        _print_summary(data, out)
