"""`trader metrics FILE` through Typer's CliRunner on temporary CSV files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from analytics.cli import metrics_app
from analytics.domain import metrics as m

EQUITY = "date,equity\n2024-01-02,100\n2024-01-03,102\n2024-01-04,101\n2024-01-05,104\n"
BENCHMARK = "date,close\n2024-01-02,50\n2024-01-03,50.5\n2024-01-04,50.2\n2024-01-05,51\n"

runner = CliRunner()


WriteCsv = Callable[..., Path]


@pytest.fixture
def csv_file(tmp_path: Path) -> WriteCsv:
    def write(text: str | bytes, name: str = "series.csv") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


def _run(*args: str | Path) -> typer.testing.Result:
    return runner.invoke(metrics_app, [str(arg) for arg in args])


def _usage_error(result: typer.testing.Result) -> str:
    """Click's usage error without the box it is drawn in, on one line."""
    return " ".join(result.output.replace("│", " ").split())


def test_metrics_equity_file_prints_table(csv_file: WriteCsv) -> None:
    result = _run(csv_file(EQUITY, "eq.csv"))
    assert result.exit_code == 0, result.output
    assert "eq.csv: equity as equity (detected from the column name)" in result.output
    assert "2024-01-02 → 2024-01-05, 3 periods, 252 periods/year" in result.output
    expected = m.compute_metrics(m.returns_from_equity([100, 102, 101, 104]))
    assert f"{expected.total_return:.2%}" in result.output
    for label in (
        "CAGR",
        "Sharpe ratio",
        "Sortino ratio",
        "Calmar ratio",
        "Max drawdown",
        "Max drawdown duration",
        "Win rate",
        "Profit factor",
        "Average win",
        "Average loss",
        "Expectancy",
        "Exposure",
    ):
        assert label in result.output
    assert "Beta" not in result.output


def test_metrics_json_has_every_metric_and_valid_json(csv_file: WriteCsv) -> None:
    result = _run(csv_file(EQUITY), "--json", "--risk-free", "0.04", "--periods-per-year", "365")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    expected = m.compute_metrics(
        m.returns_from_equity([100, 102, 101, 104]), periods_per_year=365, risk_free_annual=0.04
    )
    assert document["metrics"]["sharpe"] == pytest.approx(expected.sharpe)
    assert document["metrics"]["periods_per_year"] == 365
    assert document["metrics"]["risk_free_annual"] == 0.04
    assert document["kind"] == "equity"
    assert document["first_date"] == "2024-01-02T00:00:00+00:00"
    assert document["benchmark"] is None
    assert document["metrics"]["alpha"] is None


def test_metrics_json_non_finite_values_are_null(csv_file: WriteCsv) -> None:
    rising = "date,equity\n2024-01-02,100\n2024-01-03,101\n2024-01-04,102\n"
    result = _run(csv_file(rising), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["metrics"]["calmar"] is None  # no drawdown: undefined
    assert document["metrics"]["sortino"] is None  # no downside: infinite
    assert "Infinity" not in result.output


def test_metrics_table_shows_undefined_and_infinite_values(csv_file: WriteCsv) -> None:
    rising = "date,equity\n2024-01-02,100\n2024-01-03,101\n2024-01-04,102\n"
    result = _run(csv_file(rising))
    assert result.exit_code == 0, result.output
    assert "n/a" in result.output
    assert "∞" in result.output


def test_metrics_with_benchmark_prints_alpha_and_beta(csv_file: WriteCsv) -> None:
    result = _run(csv_file(EQUITY), "--benchmark", csv_file(BENCHMARK, "spy.csv"))
    assert result.exit_code == 0, result.output
    assert "benchmark: spy.csv (3 periods shared)" in result.output
    _, beta = m.alpha_beta(
        m.returns_from_equity([100, 102, 101, 104]), m.returns_from_equity([50, 50.5, 50.2, 51])
    )
    assert f"{beta:.3f}" in result.output
    assert "Alpha (annualised)" in result.output


def test_metrics_kind_option_overrides_detection(csv_file: WriteCsv) -> None:
    text = "date,value\n2024-01-02,1.0\n2024-01-03,1.1\n2024-01-04,1.21\n"
    path = csv_file(text)
    as_equity = json.loads(_run(path, "--json").output)
    as_returns = json.loads(_run(path, "--json", "--kind", "returns").output)
    assert (as_equity["kind"], as_equity["kind_from"]) == ("equity", "values")
    assert (as_returns["kind"], as_returns["kind_from"]) == ("returns", "given")
    assert as_returns["metrics"]["periods"] == 3


def test_metrics_mounted_in_parent_cli_accepts_options_after_file(csv_file: WriteCsv) -> None:
    root = typer.Typer()
    root.add_typer(metrics_app, name="metrics")

    @root.command()
    def other() -> None:
        """A sibling command, as the real `trader` CLI has."""

    result = runner.invoke(root, ["metrics", str(csv_file(EQUITY)), "--json", "--kind", "equity"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["kind_from"] == "given"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("day,equity\n2024-01-02,1\n2024-01-03,2\n", "no 'date' column"),
        ("date,a,b\n2024-01-02,1,2\n2024-01-03,1,2\n", "exactly one value column"),
        ("date,equity\n2024-01-02,100\n", "1 data row: at least 2"),
        ("date,equity\n2024-01-02,100\n2024-01-03,lots\n", "line 3: equity 'lots' is not a number"),
        ("date,equity\n2024-01-02,100\nyesterday,101\n", "line 3: date 'yesterday'"),
        ("date,equity\n2024-01-03,100\n2024-01-02,101\n", "not in ascending order"),
        ("date,equity\n2024-01-02,100\n2024-01-02,101\n", "appears more than once"),
        ("date,equity\n2024-01-02,100\n2024-01-03,-5\n", "equity must be positive"),
        ("date,equity\n2024-01-02,100\n2024-01-03,0\n", "equity must be positive"),
        ("date,returns\n2024-01-02,0.1\n2024-01-03,-2\n", "below -1"),
        ("date,equity\n2024-01-02,100\n2024-01-03,101,1\n", "expected 2 fields"),
    ],
)
def test_metrics_bad_file_exits_1_with_clear_message(
    csv_file: WriteCsv, text: str, message: str
) -> None:
    result = _run(csv_file(text, "bad.csv"))
    assert result.exit_code == 1
    assert message in result.output
    assert "bad.csv" in result.output
    assert "Traceback" not in result.output


def test_metrics_non_utf8_file_exits_1(csv_file: WriteCsv) -> None:
    result = _run(csv_file(b"\xff\xfe\x00d\x00a\x00t\x00e", "bin.csv"))
    assert result.exit_code == 1
    assert "is not UTF-8 text" in result.output


def test_metrics_non_positive_equity_with_explicit_kind_exits_1(csv_file: WriteCsv) -> None:
    result = _run(csv_file("date,value\n2024-01-02,0.01\n2024-01-03,-0.01\n"), "--kind", "equity")
    assert result.exit_code == 1
    assert "equity must be positive, got -0.01" in result.output


def test_metrics_bad_benchmark_exits_1_naming_it(csv_file: WriteCsv) -> None:
    benchmark = csv_file("date,close\n2024-01-02,50\n2024-01-02,51\n", "spy.csv")
    result = _run(csv_file(EQUITY), "--benchmark", benchmark)
    assert result.exit_code == 1
    assert "spy.csv: date 2024-01-02 appears more than once" in result.output


def test_metrics_benchmark_without_shared_dates_exits_1(csv_file: WriteCsv) -> None:
    benchmark = csv_file("date,close\n2023-01-02,50\n2023-01-03,51\n", "old.csv")
    result = _run(csv_file(EQUITY, "eq.csv"), "--benchmark", benchmark)
    assert result.exit_code == 1
    assert "old.csv shares 0 return periods with eq.csv" in result.output


def test_metrics_impossible_risk_free_exits_1(csv_file: WriteCsv) -> None:
    result = _run(csv_file(EQUITY), "--risk-free", "-1")
    assert result.exit_code == 1
    assert "risk-free rate must be a finite number above -1" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--periods-per-year", "0"], "--periods-per-year"),
        (["--periods-per-year", "daily"], "--periods-per-year"),
        (["--risk-free", "four percent"], "--risk-free"),
        (["--kind", "prices"], "--kind"),
    ],
)
def test_metrics_bad_option_exits_2_naming_it(
    csv_file: WriteCsv, args: list[str], message: str
) -> None:
    result = _run(csv_file(EQUITY), *args)
    assert result.exit_code == 2
    assert message in _usage_error(result)


def test_metrics_missing_file_exits_2(tmp_path: Path) -> None:
    result = _run(tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert "does not exist" in _usage_error(result)


def test_metrics_missing_benchmark_file_exits_2(csv_file: WriteCsv, tmp_path: Path) -> None:
    result = _run(csv_file(EQUITY), "--benchmark", tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert "does not exist" in _usage_error(result)


def test_metrics_directory_instead_of_file_exits_2(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.exit_code == 2
    assert "is a directory" in _usage_error(result)


def test_metrics_no_file_exits_2() -> None:
    result = runner.invoke(metrics_app, [])
    assert result.exit_code == 2
    assert "Missing argument" in _usage_error(result)
