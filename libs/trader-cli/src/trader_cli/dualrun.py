"""`trader dual-run FILE...`: the same daily bars through the distributed platform and through
the in-process backtest, and every difference in orders, fills, positions and P&L.

It starts a private platform for the run (Redis, the pub/sub broker and PostgreSQL on free
ports in a temporary folder; placement, scheduler, and trading-engine, ai-decision and
orchestrator with their sidecars), so it never touches what `trader run` started, and stops it
afterwards. Exit code 0: identical; 1: differences (listed) or an error.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrator.backtest.options import CashOption, FastOption, QtyOption, SlowOption

from .errors import SetupError
from .installer import ensure_secrets_file, kafka_libs_dir
from .netutil import free_port
from .paths import repo_root
from .platform import InfraPorts, Infrastructure, LocalPlatform
from .runfile import Profile, load_run_file

if TYPE_CHECKING:
    from orchestrator.adapters.platform_http import HttpPlatform
    from orchestrator.backtest.distributed import DualRunConfig, DualRunReport

DUAL_RUN_APPS = ("trading-engine", "ai-decision", "orchestrator")


def _decimal(option: str, text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise typer.BadParameter(f"must be a number, got {text!r}", param_hint=option) from None
    if not value.is_finite() or value <= 0:
        raise typer.BadParameter(f"must be a positive number, got {text!r}", param_hint=option)
    return value


def report_json(report: DualRunReport) -> dict[str, Any]:
    def summary(record: Any) -> dict[str, Any]:
        return {
            "orders": len(record.orders),
            "fills": len(record.fills),
            "positions": {s: str(q) for s, q in sorted(record.positions.items())},
            "pnl": {k: str(v) for k, v in sorted(record.pnl.items())},
        }

    return {
        "identical": report.identical,
        "days": report.days,
        "bars": report.bars,
        "in_process": summary(report.in_process),
        "distributed": summary(report.distributed),
        "differences": [
            {
                "kind": d.kind,
                "key": d.key,
                "field": d.field,
                "in_process": d.left,
                "distributed": d.right,
                "text": d.describe(),
            }
            for d in report.differences
        ],
    }


def report_lines(report: DualRunReport) -> list[str]:
    data = report_json(report)
    left, right = data["in_process"], data["distributed"]
    lines = [
        f"dual-run over {report.days} days, {report.bars} bars",
        f"{'':14}{'in-process':>18}{'distributed':>18}",
        f"{'orders':14}{left['orders']:>18}{right['orders']:>18}",
        f"{'filled orders':14}{left['fills']:>18}{right['fills']:>18}",
    ]
    for name in sorted(left["pnl"]):
        lines.append(f"{name:14}{left['pnl'][name]:>18}{right['pnl'].get(name, '-'):>18}")
    if report.identical:
        lines.append("✓ identical: orders, fills, positions and P&L agree")
    else:
        lines.append(f"✗ {len(report.differences)} differences:")
        lines.extend(f"  {d.describe()}" for d in report.differences)
    return lines


def http_platform(platform: LocalPlatform) -> HttpPlatform:
    """The dual-run driver's view of a started platform: its apps' URLs, and the orchestrator's
    sidecar to publish the bars through."""
    from orchestrator.adapters.platform_http import HttpPlatform

    running = platform.running
    return HttpPlatform(
        engine_url=running["trading-engine"].url,
        ai_decision_url=running["ai-decision"].url,
        orchestrator_url=running["orchestrator"].url,
        sidecar_http_port=running["orchestrator"].ports.http,
    )


async def _drive(
    platform: LocalPlatform,
    series: list[Any],
    config: DualRunConfig,
    progress: Callable[[int], None] | None,
) -> DualRunReport:
    from orchestrator.backtest.distributed import dual_run

    http = http_platform(platform)
    try:
        return await dual_run(series, config, http, progress)
    finally:
        await http.close()


def _stop(platform: LocalPlatform | None, infra: Infrastructure) -> None:
    if platform is not None:
        platform.stop()
    infra.stop()


def dual_run_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="CSV files of daily bars (date,open,high,low,close,volume), one symbol each, "
            "or directories of them (as `trader backtest` reads them).",
            show_default=False,
        ),
    ],
    fast: FastOption = 10,
    slow: SlowOption = 30,
    qty: QtyOption = "100",
    cash: CashOption = "100000",
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="Symbol of a single FILE.", show_default=False)
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    ready_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the platform to be ready.")
    ] = 120.0,
) -> None:
    """Run sma-cross over the bars through the platform (bars on market.events, a cycle per
    day as a Dapr Workflow, decisions by ai-decision's local sma-cross model, fills in the
    trading engine's paper exchange) and in-process, and report every difference."""
    from orchestrator.backtest.bars import BarFileError, load_series
    from orchestrator.backtest.cli import progress_bar
    from orchestrator.backtest.distributed import DualRunConfig, platform_env
    from orchestrator.backtest.strategy import SmaCrossParams, StrategyConfigError

    def fail(message: str) -> None:
        typer.secho(f"✗ {message}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)

    try:
        shares = _decimal("--qty", qty)
        if shares != shares.to_integral_value():
            raise typer.BadParameter(f"must be whole shares, got {qty!r}", param_hint="--qty")
        config = DualRunConfig(
            params=SmaCrossParams(fast, slow, shares), starting_cash=_decimal("--cash", cash)
        )
        series = load_series(files, symbol)
    except (StrategyConfigError, BarFileError) as error:
        fail(str(error))
    root = repo_root()
    profile = Profile.from_env()
    run_file = load_run_file(root / "dapr" / "dapr.yaml")
    base = Path(tempfile.mkdtemp(prefix="trader-dual-run-"))
    infra = Infrastructure(profile, base / "infra", InfraPorts.free(), kafka_libs_dir())
    env = platform_env([s.symbol for s in series], config, stream="dual-run")
    specs = []
    for app_id in DUAL_RUN_APPS:
        spec = run_file.app(app_id).with_ports(free_port(), free_port(), free_port(), free_port())
        spec.env.update(env[app_id])
        specs.append(spec)
    platform: LocalPlatform | None = None

    def say(message: str) -> None:
        if not json_output:
            typer.echo(message, err=True)

    try:
        infra.start(say=say)
        platform = LocalPlatform(
            apps=specs,
            resources_paths=profile.resources_paths(root, run_file.resources_paths),
            config=run_file.config,
            infra_env=infra.env,
            run_dir=base / "run",
            python=sys.executable,
            secrets_file=ensure_secrets_file(),
        )
        say("… starting trading-engine, ai-decision and orchestrator with their sidecars")
        platform.start(timeout=ready_timeout)
        total = sum(len(s.bars) for s in series)
        with progress_bar(
            total, enabled=not json_output, description="dual-run (bars through the platform)"
        ) as progress:
            report = asyncio.run(_drive(platform, series, config, progress))
    except SetupError as error:
        _stop(platform, infra)
        fail(f"{error.what} — {error.fix}; logs in {base / 'run' / 'logs'}")
    except Exception as error:  # the run could not finish: say why, keep the logs
        _stop(platform, infra)
        fail(f"dual-run failed: {error}; logs in {base / 'run' / 'logs'}")
    except BaseException:
        _stop(platform, infra)
        raise
    _stop(platform, infra)
    shutil.rmtree(base, ignore_errors=True)
    if json_output:
        typer.echo(json.dumps(report_json(report), indent=2))
    else:
        typer.echo("\n".join(report_lines(report)))
    if not report.identical:
        raise typer.Exit(1)
