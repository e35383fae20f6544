"""Dual-run comparison: every difference between two runs is reported, nothing else."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from orchestrator.backtest.bars import load_series
from orchestrator.backtest.dualrun import (
    Difference,
    FillRecord,
    OrderRecord,
    RunRecord,
    compare_runs,
    record_of,
)
from orchestrator.backtest.runner import BacktestConfig, Backtester
from orchestrator.backtest.strategy import SmaCross, SmaCrossParams

D = Decimal


def _run() -> RunRecord:
    return RunRecord(
        orders=[
            OrderRecord("a", "AAA", "buy", D(10), "filled"),
            OrderRecord("b", "AAA", "sell", D(10), "filled"),
        ],
        fills=[
            FillRecord("a", "AAA", "buy", D(4), D("10.00")),
            FillRecord("a", "AAA", "buy", D(6), D("10.01")),
            FillRecord("b", "AAA", "sell", D(10), D("11.00"), D("0.05")),
        ],
        positions={"AAA": D(0), "BBB": D(5)},
        pnl={"realized_pnl": D("9.94"), "final_equity": D("1009.94")},
    )


def test_compare_runs_identical_runs_no_differences() -> None:
    assert compare_runs(_run(), _run()) == []


def test_compare_runs_every_kind_of_difference_reported() -> None:
    left = _run()
    right = RunRecord(
        orders=[
            OrderRecord("a", "AAA", "buy", D(10), "filled"),
            OrderRecord("b", "AAA", "sell", D(10), "rejected"),
            OrderRecord("c", "CCC", "buy", D(1), "filled"),
        ],
        fills=[
            FillRecord("a", "AAA", "buy", D(4), D("10.00")),
            FillRecord("a", "AAA", "buy", D(6), D("10.02")),
        ],
        positions={"AAA": D(10), "BBB": D(5)},
        pnl={"realized_pnl": D("0.00"), "final_equity": D("1009.94"), "fees": D(0)},
    )
    assert compare_runs(left, right) == [
        Difference("order", "b", "status", "filled", "rejected"),
        Difference("order", "c", "presence", None, "present"),
        Difference("fill", "a#2", "price", "10.01", "10.02"),
        Difference("fill", "b#1", "presence", "present", None),
        Difference("position", "AAA", "qty", "0", "10"),
        Difference("pnl", "fees", "presence", None, "present"),
        Difference("pnl", "realized_pnl", "amount", "9.94", "0.00"),
    ]


def test_compare_runs_within_tolerances_no_differences() -> None:
    left = _run()
    fills = list(left.fills)
    fills[1] = FillRecord("a", "AAA", "buy", D(6), D("10.0101"))
    right = RunRecord(left.orders, fills, left.positions, {**left.pnl, "realized_pnl": D("9.945")})
    assert compare_runs(left, right) != []
    assert compare_runs(left, right, price_tolerance=D("0.0001"), money_tolerance=D("0.005")) == []


def test_difference_describe_reads_as_a_sentence() -> None:
    assert Difference("fill", "a#2", "price", "10.01", "10.02").describe() == (
        "fill a#2: price 10.01 != 10.02"
    )
    assert Difference("order", "c", "presence", None, "present").describe() == (
        "order c: only in the right run"
    )


def test_record_of_backtest_same_run_twice_agrees_and_fee_run_differs(tmp_path: Path) -> None:
    lines = ["date,open,high,low,close,volume"]
    closes = [12, 11, 10, 9, 14, 15, 8, 7, 9, 13, 14]
    for i, c in enumerate(closes):
        lines.append(f"2024-02-{i + 1:02d},{c},{c + 1},{c - 1},{c},100")
    (tmp_path / "ABC.csv").write_text("\n".join(lines) + "\n")
    series = load_series([tmp_path / "ABC.csv"])
    params = SmaCrossParams(2, 4, D(10))

    def run(fee: Decimal) -> RunRecord:
        config = BacktestConfig(starting_cash=D(1000), fee_bps=fee)
        return record_of(Backtester(lambda _: SmaCross(params), config).run(series))

    assert compare_runs(run(D(0)), run(D(0))) == []
    differences = compare_runs(run(D(0)), run(D(100)))
    assert {d.kind for d in differences} == {"fill", "pnl"}
    assert {d.field for d in differences if d.kind == "fill"} == {"fee"}
