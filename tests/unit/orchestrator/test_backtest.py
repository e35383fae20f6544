"""Backtester over a hand-made CSV whose crossovers are worked out by hand (fast 2, slow 4).

closes 12 11 10 9 | 14 15 8 7 9 13 14
bar 4: fast 9.5 < slow 10.5 (seed: below)
bar 5: fast 11.5 > slow 11 -> up-cross -> buy 10, filled at bar 6's open 14.50
bar 7: fast 11.5 = slow 11.5 (equal: no signal, the side stays "above")
bar 8: fast 7.5 < slow 11 -> down-cross -> sell 10, filled at bar 9's open 7.20
bar 10: fast 11 > slow 9.25 -> up-cross -> buy 10, filled at bar 11's open 13.10
end: cash 1000 - 145.00 + 72.00 - 131.00 = 796.00; 10 shares at the last close 14 -> 936.00
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.backtest.bars import BarFileError, DailyBar, load_series, read_bars_csv
from orchestrator.backtest.cli import backtest_app
from orchestrator.backtest.report import summary, write_report
from orchestrator.backtest.runner import (
    BacktestConfig,
    BacktestConfigError,
    Backtester,
    BacktestResult,
)
from orchestrator.backtest.strategy import (
    OrderIntent,
    SmaCross,
    SmaCrossParams,
    StrategyConfigError,
)

CLOSES = [12, 11, 10, 9, 14, 15, 8, 7, 9, 13, 14]
OPENS = {6: "14.50", 9: "7.20", 11: "13.10"}
DAYS = [date(2024, 1, d) for d in (2, 3, 4, 5, 8, 9, 10, 11, 12, 16, 17)]


def _csv(path: Path) -> Path:
    lines = ["date,open,high,low,close,volume"]
    for i, (day, close) in enumerate(zip(DAYS, CLOSES, strict=True), start=1):
        o = Decimal(OPENS.get(i, str(close)))
        c = Decimal(close)
        lines.append(f"{day},{o},{max(o, c) + 1},{min(o, c) - 1},{c},1000")
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(
    tmp_path: Path, fee_bps: Decimal = Decimal(0), slippage_bps: Decimal = Decimal(0)
) -> BacktestResult:
    series = load_series([_csv(tmp_path / "ABC.csv")])
    params = SmaCrossParams(2, 4, Decimal(10))
    config = BacktestConfig(Decimal(1000), fee_bps=fee_bps, slippage_bps=slippage_bps)
    return Backtester(lambda _: SmaCross(params), config).run(series)


def test_backtest_hand_made_crosses_fill_at_next_open_exactly(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert [(f.day, f.side, f.qty, f.price) for f in result.fills] == [
        (DAYS[5], "buy", Decimal(10), Decimal("14.50")),
        (DAYS[8], "sell", Decimal(10), Decimal("7.20")),
        (DAYS[10], "buy", Decimal(10), Decimal("13.10")),
    ]
    assert result.final_cash == Decimal("796.00")
    assert result.final_equity == Decimal("936.00")
    assert result.positions == {"ABC": Decimal(10)}
    assert result.realized_pnl == Decimal("-73.00")
    assert result.rejections == []


def test_backtest_hand_made_trades_round_trip_and_open_trade(tmp_path: Path) -> None:
    trades = _run(tmp_path).trades
    assert [(t.entry_day, t.entry_price, t.exit_day, t.exit_price, t.pnl) for t in trades] == [
        (DAYS[5], Decimal("14.50"), DAYS[8], Decimal("7.20"), Decimal("-73.00")),
        (DAYS[10], Decimal("13.10"), None, Decimal(14), Decimal("9.00")),
    ]


def test_backtest_equity_curve_marks_each_close(tmp_path: Path) -> None:
    equity = _run(tmp_path).equity
    assert len(equity) == len(DAYS)
    # day 6: bought 10 at 14.50, close 15 -> 1000 - 145 + 150
    assert (equity[5].day, equity[5].cash, equity[5].equity) == (
        DAYS[5],
        Decimal("855.00"),
        Decimal("1005.00"),
    )
    assert equity[4].equity == Decimal("1000.00")  # the order waits for the next open
    assert equity[-1].equity == Decimal("936.00")


def test_backtest_fee_bps_charged_per_fill_to_the_cent(tmp_path: Path) -> None:
    result = _run(tmp_path, fee_bps=Decimal(100))
    assert [f.fee for f in result.fills] == [Decimal("1.45"), Decimal("0.72"), Decimal("1.31")]
    assert result.final_cash == Decimal("792.52")
    assert result.final_equity == Decimal("932.52")


def test_backtest_slippage_bps_moves_fills_against_the_order(tmp_path: Path) -> None:
    result = _run(tmp_path, slippage_bps=Decimal(100))
    buy, sell, _ = result.fills
    assert buy.price > Decimal("14.50")
    assert sell.price < Decimal("7.20")


def test_backtest_buy_beyond_cash_is_rejected_with_reason(tmp_path: Path) -> None:
    series = load_series([_csv(tmp_path / "ABC.csv")])
    params = SmaCrossParams(2, 4, Decimal(1000))
    result = Backtester(lambda _: SmaCross(params), BacktestConfig(Decimal(1000))).run(series)
    assert result.fills == []
    assert len(result.rejections) == 2
    assert result.rejections[0].reason
    assert result.final_equity == Decimal("1000.00")


def test_backtest_two_symbols_share_one_account(tmp_path: Path) -> None:
    a = _csv(tmp_path / "AAA.csv")
    b = _csv(tmp_path / "BBB.csv")
    params = SmaCrossParams(2, 4, Decimal(10))
    result = Backtester(lambda _: SmaCross(params), BacktestConfig(Decimal(2000))).run(
        load_series([a, b])
    )
    assert len(result.fills) == 6
    assert result.final_equity == Decimal("1872.00")


def test_backtest_config_negative_cash_raises_naming_it() -> None:
    with pytest.raises(BacktestConfigError, match="starting_cash"):
        BacktestConfig(starting_cash=Decimal(-1))


# -- strategy ------------------------------------------------------------------------------------


def _bar(close: int) -> DailyBar:
    c = Decimal(close)
    return DailyBar(date(2024, 1, 1), c, c, c, c, Decimal(0))


def test_sma_cross_equal_averages_do_not_reset_the_side_no_signal() -> None:
    strategy = SmaCross(SmaCrossParams(2, 4, Decimal(5)))
    signals = [strategy.on_bar(_bar(c), Decimal(0)) for c in CLOSES[:6]]
    assert signals[4] == OrderIntent("buy", Decimal(5))
    assert [s for i, s in enumerate(signals) if i != 4] == [None] * 5


def test_sma_cross_sells_whole_position_on_down_cross() -> None:
    strategy = SmaCross(SmaCrossParams(2, 4, Decimal(5)))
    held = Decimal(0)
    out = []
    for c in CLOSES:
        intent = strategy.on_bar(_bar(c), held)
        out.append(intent)
        if intent is not None:
            held = intent.qty if intent.side == "buy" else Decimal(0)
    assert out[7] == OrderIntent("sell", Decimal(5))


@pytest.mark.parametrize(
    ("fast", "slow", "qty", "named"),
    [(0, 4, "1", "fast"), (5, 5, "1", "slow"), (2, 4, "0", "qty"), (2, 4, "NaN", "qty")],
)
def test_sma_cross_params_out_of_range_raise_naming_them(
    fast: int, slow: int, qty: str, named: str
) -> None:
    with pytest.raises(StrategyConfigError, match=named):
        SmaCrossParams(fast, slow, Decimal(qty))


# -- CSV reader ----------------------------------------------------------------------------------

HEADER = "date,open,high,low,close,volume\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("date,open,high,close,volume\n2024-01-02,1,2,1,5\n", "missing column(s) low"),
        ("open,high,low,close,volume\n1,2,1,1,5\n", "missing column(s) date"),
        (HEADER + "2024-01-02,1,2,abc,1,5\n", "line 2: column 'low' is not a number: 'abc'"),
        (HEADER + "02/01/2024,1,2,1,1,5\n", "line 2: column 'date' is not a date"),
        (HEADER + "2024-01-02,1,1,2,1,5\n", "line 2: high 1 is below low 2"),
        (HEADER + "2024-01-02,3,2,1,1,5\n", "open 3 and close 1 must lie between"),
        (HEADER + "2024-01-02,1,2,0,1,5\n", "prices must be positive"),
        (HEADER + "2024-01-02,1,2,1,1,-5\n", "volume must not be negative"),
        (HEADER + "2024-01-03,1,2,1,1,5\n2024-01-02,1,2,1,1,5\n", "line 3: date 2024-01-02 "),
        (HEADER + "2024-01-02,1,2,1,1,5\n2024-01-02,1,2,1,1,5\n", "line 3: duplicate date"),
        (HEADER + "2024-01-02,1,2,1\n", "line 2: expected 6 columns, found 4"),
        (HEADER, "no bars after the header"),
        ("", "the file is empty"),
    ],
)
def test_read_bars_csv_bad_file_raises_clear_error(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "X.csv"
    path.write_text(body)
    with pytest.raises(BarFileError) as info:
        read_bars_csv(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_read_bars_csv_market_data_format_reads_symbol_and_dates() -> None:
    path = Path("apps/market-data/src/market_data/data/GOOG_1Day.csv")
    series = read_bars_csv(path)
    assert series.symbol == "GOOG"
    assert series.bars[0].day == date(2004, 8, 19)
    assert series.bars[0].close == Decimal("100.34")


def test_read_bars_csv_utf8_bom_header_reads(tmp_path: Path) -> None:
    path = tmp_path / "BOM.csv"
    path.write_text("\ufeff" + HEADER + "2024-01-02,1,2,1,1,5\n", encoding="utf-8")
    assert read_bars_csv(path).bars[0].day == date(2024, 1, 2)


def test_load_series_missing_file_raises_naming_it(tmp_path: Path) -> None:
    with pytest.raises(BarFileError, match="no such file"):
        load_series([tmp_path / "nope.csv"])


def test_load_series_symbol_with_two_files_raises(tmp_path: Path) -> None:
    with pytest.raises(BarFileError, match="single file"):
        load_series([_csv(tmp_path / "A.csv"), _csv(tmp_path / "B.csv")], "X")


def test_load_series_same_symbol_twice_raises(tmp_path: Path) -> None:
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    with pytest.raises(BarFileError, match="two files"):
        load_series([_csv(tmp_path / "d1" / "A.csv"), _csv(tmp_path / "d2" / "A.csv")])


def test_load_series_directory_reads_every_csv(tmp_path: Path) -> None:
    _csv(tmp_path / "AAA_1Day.csv")
    _csv(tmp_path / "BBB.csv")
    assert [s.symbol for s in load_series([tmp_path])] == ["AAA", "BBB"]


# -- report and CLI ------------------------------------------------------------------------------


def test_write_report_writes_summary_trades_equity_with_metrics(tmp_path: Path) -> None:
    result = _run(tmp_path)
    data = write_report(result, tmp_path / "out", strategy={"name": "sma-cross"})
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["equity.csv", "fills.csv", "rejections.csv", "summary.json", "trades.csv"]
    assert data["final_equity"] == "936.00"
    assert data["metrics"]["total_return"] == pytest.approx(-0.064)
    trades = (tmp_path / "out" / "trades.csv").read_text().splitlines()
    assert trades[1] == "ABC,2024-01-09,14.5000,10,2024-01-12,7.2000,-73.00,0"
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == data
    assert summary(result)["closed_trades"] == 1


def test_backtest_cli_json_prints_summary_and_writes_report(tmp_path: Path) -> None:
    csv_path = _csv(tmp_path / "data.csv")
    out = tmp_path / "report"
    args = [str(csv_path), "--symbol", "abc", "--fast", "2", "--slow", "4", "--qty", "10"]
    result = CliRunner().invoke(
        backtest_app, [*args, "--cash", "1000", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["symbols"], data["final_equity"], data["fills"]) == (["ABC"], "936.00", 3)
    assert (out / "equity.csv").exists()


def test_backtest_cli_table_output_names_report_folder(tmp_path: Path) -> None:
    csv_path = _csv(tmp_path / "ABC.csv")
    out = tmp_path / "r"
    args = [str(csv_path), "--fast", "2", "--slow", "4", "--qty", "10", "--cash", "1000"]
    result = CliRunner().invoke(backtest_app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "936.00" in result.output
    assert f"report written to {out}/" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--qty", "ten"], "--qty must be a number, got 'ten'"),
        (["--qty", "1.5"], "--qty must be whole shares, got '1.5'"),
        (["--cash", "-5"], "starting_cash must be a number >= 0"),
        (["--fast", "30", "--slow", "10"], "slow must be longer than fast"),
        (["--fee-bps", "inf"], "--fee-bps must be a finite number"),
    ],
)
def test_backtest_cli_bad_option_exits_1_with_message(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    csv_path = _csv(tmp_path / "ABC.csv")
    result = CliRunner().invoke(backtest_app, [str(csv_path), "--out", str(tmp_path / "o"), *extra])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_backtest_cli_bad_file_exits_1_naming_line(tmp_path: Path) -> None:
    path = tmp_path / "ABC.csv"
    path.write_text(HEADER + "2024-01-02,1,2,x,1,5\n")
    result = CliRunner().invoke(backtest_app, [str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "line 2: column 'low' is not a number" in result.output


def test_sma_crossings_prepared_equals_incremental_on_random_walk() -> None:
    import random

    rng = random.Random(3)
    price = 5000
    bars = []
    for i in range(2000):
        price = max(1, price + rng.choice((-3, -1, 0, 0, 1, 3)))  # many ties
        c = Decimal(price).scaleb(-2 if i % 3 else -3)
        bars.append(DailyBar(date(2024, 1, 1), c, c, c, c, Decimal(0)))
    params = SmaCrossParams(3, 7, Decimal(1))
    incremental, prepared = SmaCross(params), SmaCross(params)
    prepared.prepare(bars)
    held_a = held_b = Decimal(0)
    for bar in bars:
        a = incremental.on_bar(bar, held_a)
        b = prepared.on_bar(bar, held_b)
        assert a == b
        if a is not None:
            held_a = held_b = a.qty if a.side == "buy" else Decimal(0)


def test_sma_cross_prepared_given_other_bar_raises() -> None:
    strategy = SmaCross(SmaCrossParams(2, 4, Decimal(1)))
    strategy.prepare([_bar(c) for c in CLOSES])
    with pytest.raises(StrategyConfigError, match="prepared series"):
        strategy.on_bar(_bar(12), Decimal(0))


def test_trader_cli_backtest_forwards_arguments(tmp_path: Path) -> None:
    from trader_cli.main import app

    csv_path = _csv(tmp_path / "ABC.csv")
    args = ["backtest", str(csv_path), "--fast", "2", "--slow", "4", "--qty", "10"]
    result = CliRunner().invoke(app, [*args, "--cash", "1000", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "final equity" in result.output
    assert "936.00" in result.output


def test_backtest_mark_every_bar_gives_identical_fills_and_equity_curve() -> None:
    from bench.backtest_sma_cross import synthetic_series

    series = synthetic_series(symbols=4, bars=300, seed=5)
    params = SmaCrossParams(5, 20, Decimal(10))

    def run(mark_every_bar: bool) -> BacktestResult:
        config = BacktestConfig(Decimal(100_000), mark_every_bar=mark_every_bar)
        return Backtester(lambda _: SmaCross(params), config).run(series)

    lazy, full = run(False), run(True)
    assert len(lazy.fills) > 20
    assert [(f.day, f.symbol, f.side, f.qty, f.price) for f in lazy.fills] == [
        (f.day, f.symbol, f.side, f.qty, f.price) for f in full.fills
    ]
    assert lazy.equity == full.equity
    assert (lazy.final_cash, lazy.final_equity) == (full.final_cash, full.final_equity)
    assert lazy.positions == full.positions
