"""`trader dual-run`: bad input is refused before anything starts; the report reads clearly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from orchestrator.backtest.distributed import DualRunReport
from orchestrator.backtest.dualrun import Difference, FillRecord, OrderRecord, RunRecord
from trader_cli.dualrun import report_json, report_lines
from trader_cli.main import app

RUNNER = CliRunner()


def test_dual_run_missing_file_exits_1_naming_it(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["dual-run", str(tmp_path / "none.csv")])
    assert result.exit_code == 1
    assert "none.csv: no such file" in result.output


def test_dual_run_fractional_qty_is_refused(tmp_path: Path) -> None:
    bars = tmp_path / "AAA.csv"
    bars.write_text("date,open,high,low,close,volume\n2021-03-01,1,1,1,1,10\n")
    result = RUNNER.invoke(app, ["dual-run", str(bars), "--qty", "1.5"])
    assert result.exit_code == 2
    assert "whole shares" in result.output


def test_dual_run_slow_not_longer_than_fast_is_refused(tmp_path: Path) -> None:
    bars = tmp_path / "AAA.csv"
    bars.write_text("date,open,high,low,close,volume\n2021-03-01,1,1,1,1,10\n")
    result = RUNNER.invoke(app, ["dual-run", str(bars), "--fast", "5", "--slow", "5"])
    assert result.exit_code == 1
    assert "slow must be longer than fast" in result.output


def run(pnl: str) -> RunRecord:
    return RunRecord(
        orders=[OrderRecord("c-1:AAA", "AAA", "buy", Decimal(5), "filled")],
        fills=[FillRecord("c-1:AAA", "AAA", "buy", Decimal(5), Decimal("10.5"))],
        positions={"AAA": Decimal(5)},
        pnl={"realized_pnl": Decimal(pnl)},
    )


def test_dual_run_report_identical_says_so() -> None:
    report = DualRunReport(3, 3, run("0"), run("0"), [])
    lines = report_lines(report)
    assert lines[0] == "dual-run over 3 days, 3 bars"
    assert lines[-1] == "✓ identical: orders, fills, positions and P&L agree"
    assert report_json(report)["identical"] is True


def test_dual_run_report_lists_every_difference() -> None:
    difference = Difference("pnl", "realized_pnl", "amount", "0", "1")
    report = DualRunReport(3, 3, run("0"), run("1"), [difference])
    lines = report_lines(report)
    assert "✗ 1 differences:" in lines
    assert "  pnl realized_pnl: amount 0 != 1" in lines
    data = report_json(report)
    assert data["identical"] is False
    assert data["differences"][0]["distributed"] == "1"
