"""`trader`: the user's entry point to the local platform."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer

from . import ops
from .console import CycleConsole
from .dualrun import dual_run_command
from .errors import SetupError
from .installer import ensure_debian_packages, ensure_kafka, ensure_secrets_file, kafka_libs_dir
from .paths import local_dir, repo_root
from .platform import InfraPorts, Infrastructure, LocalPlatform
from .runfile import Profile, load_run_file

app = typer.Typer(
    help="AI Active Trader: run the platform locally, inspect it, manage its infrastructure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
infra_app = typer.Typer(
    help="Local infrastructure: Redis, NATS, PostgreSQL, Kafka.", no_args_is_help=True
)
schemas_app = typer.Typer(help="Event schemas (the schema registry).", no_args_is_help=True)
app.add_typer(infra_app, name="infra")
app.add_typer(schemas_app, name="schemas")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
CYCLE_POLL_SECONDS = 2.0  # how often `trader run` reads the orchestrator's cycle log


def _fail(error: SetupError) -> None:
    typer.secho(f"✗ {error.what} — {error.fix}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@app.command()
def setup(
    dapr: Annotated[bool, typer.Option(help="Build the Dapr runtime if missing")] = True,
    kafka: Annotated[bool, typer.Option(help="Fetch Kafka if missing")] = True,
) -> None:
    """Install whatever is missing: Debian packages, Kafka, the Dapr runtime, the secrets file."""
    from .dapr_runtime import ensure_dapr

    try:
        ensure_debian_packages()
        if kafka:
            ensure_kafka()
        if dapr:
            ensure_dapr()
        ensure_secrets_file()
    except SetupError as error:
        _fail(error)


def _infrastructure(profile: Profile) -> Infrastructure:
    return Infrastructure(profile, local_dir() / "infra", InfraPorts(), kafka_libs_dir())


@infra_app.command("up")
def infra_up() -> None:
    """Start the servers the profile (PUBSUB=, STATE=) needs and leave them running."""
    try:
        _infrastructure(Profile.from_env()).start()
    except SetupError as error:
        _fail(error)


@infra_app.command("down")
def infra_down() -> None:
    """Stop every local server that `trader` started (all profiles)."""
    for pubsub, state in (("nats", "postgres"), ("kafka", "redis")):
        infra = _infrastructure(Profile(pubsub, state))
        for server in infra.servers:
            if server.stop():
                typer.echo(f"✓ stopped {server.name}")


@infra_app.command("status")
def infra_status(as_json: JsonOption = False) -> None:
    """Which local servers are running."""
    rows = []
    seen = set()
    for pubsub, state in (("nats", "postgres"), ("kafka", "redis")):
        for server in _infrastructure(Profile(pubsub, state)).servers:
            if server.name in seen:
                continue
            seen.add(server.name)
            pid = server.running_pid()
            rows.append(
                {"server": server.name, "port": server.port, "running": pid is not None, "pid": pid}
            )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        state = f"running (pid {row['pid']})" if row["running"] else "stopped"
        typer.echo(f"{row['server']:<10} :{row['port']:<6} {state}")


@app.command()
def run(
    apps: Annotated[
        list[str] | None, typer.Option("--app", help="Only these apps (repeatable)")
    ] = None,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness")] = 120.0,
) -> None:
    """Start infrastructure and every app with its Dapr sidecar and paper-trade: a line per
    finished trading cycle, a summary of the run on Ctrl-C (or SIGTERM), then stop all of it."""
    run_started = datetime.now(UTC)
    root = repo_root()
    try:
        profile = Profile.from_env()
        run_file = load_run_file(root / "dapr" / "dapr.yaml")
        typer.echo(f"AI Active Trader — pub/sub {profile.pubsub}, state {profile.state}")
        infra = _infrastructure(profile)
        secrets = ensure_secrets_file()
    except SetupError as error:
        _fail(error)
    specs = [a for a in run_file.apps if not apps or a.app_id in apps]
    platform = LocalPlatform(
        apps=specs,
        resources_paths=profile.resources_paths(root, run_file.resources_paths),
        config=run_file.config,
        infra_env={},
        run_dir=local_dir() / "run",
        python=sys.executable,
        secrets_file=secrets,
        placement_port=InfraPorts().placement,
        scheduler_port=InfraPorts().scheduler,
        echo=True,
        log_level=run_file.log_level,
    )
    stopping = False

    def _interrupt(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise KeyboardInterrupt

    def _summarise(console: CycleConsole | None) -> None:
        if console is None:
            return
        # Best effort: a second Ctrl-C skips the summary, never the stopping.
        with contextlib.suppress(KeyboardInterrupt):
            console.finish()

    signal.signal(signal.SIGTERM, _interrupt)
    console: CycleConsole | None = None
    try:
        infra.start()
        platform.infra_env = infra.env
        platform.start(timeout=ready_timeout)
        gateway = platform.running.get("api-gateway")
        typer.secho(
            "✓ platform ready"
            + (f" — API at {gateway.url}/docs" if gateway else "")
            + "; a line per trading cycle below; Ctrl-C stops everything",
            fg=typer.colors.GREEN,
        )
        orchestrator = platform.running.get("orchestrator")
        engine = platform.running.get("trading-engine")
        if orchestrator or engine:
            console = CycleConsole(
                orchestrator.url if orchestrator else None,
                engine.url if engine else None,
                since=run_started,
                say=typer.echo,
            )
        next_poll = time.monotonic()
        while True:
            for running in platform.running.values():
                for process in (running.app, running.sidecar):
                    if not process.alive():
                        raise SetupError(
                            f"{process.name} exited (code {process.exit_code()})",
                            f"see {process.log_file}",
                        )
            if console is not None and time.monotonic() >= next_poll:
                console.poll()
                next_poll = time.monotonic() + CYCLE_POLL_SECONDS
            time.sleep(1)
    except KeyboardInterrupt:
        typer.echo("\n… stopping")
        _summarise(console)
    except SetupError as error:
        typer.secho(f"✗ {error.what} — {error.fix}", fg=typer.colors.RED, err=True)
        _summarise(console)
        platform.stop()
        infra.stop()
        raise typer.Exit(1) from None
    platform.stop()
    infra.stop()
    typer.echo("✓ stopped everything this run started")


@app.command()
def status(
    as_json: JsonOption = False,
    host: Annotated[str, typer.Option(help="Where the apps listen")] = "127.0.0.1",
) -> None:
    """Readiness of every app of the local platform (from its /readyz)."""
    run_file = load_run_file(repo_root() / "dapr" / "dapr.yaml")
    rows = []
    with httpx.Client(timeout=2) as client:
        for spec in run_file.apps:
            url = f"http://{host}:{spec.app_port}/readyz"
            try:
                response = client.get(url)
                body = response.json()
                rows.append(
                    {
                        "app": spec.app_id,
                        "ready": response.status_code == 200,
                        "detail": body.get("detail"),
                        "components": body.get("components"),
                    }
                )
            except (httpx.HTTPError, ValueError) as exc:
                rows.append(
                    {
                        "app": spec.app_id,
                        "ready": False,
                        "detail": f"not running ({exc})",
                        "components": [],
                    }
                )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        for row in rows:
            mark = "✓" if row["ready"] else "✗"
            typer.echo(f"{mark} {row['app']:<15} {row['detail']}")
    if not all(row["ready"] for row in rows):
        raise typer.Exit(1)


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[Path | None, typer.Option(help="Where to write")] = None,
) -> None:
    """Write the JSON Schema of every event type (commit the result)."""
    from trader_common.contracts.registry import SCHEMA_DIR, export_schemas

    for path in export_schemas(directory or SCHEMA_DIR):
        typer.echo(
            str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
        )


@schemas_app.command("check")
def schemas_check() -> None:
    """Fail when a current event schema is not backward compatible with the committed one."""
    from trader_common.contracts.compatibility import breaking_changes
    from trader_common.contracts.registry import EVENT_TYPES, json_schema, schema_path

    failures = 0
    for cls in EVENT_TYPES:
        path = schema_path(cls)
        if not path.exists():
            typer.echo(
                f"✗ {cls.cloud_event_type()}: no committed schema (run trader schemas export)"
            )
            failures += 1
            continue
        problems = breaking_changes(json.loads(path.read_text()), json_schema(cls))
        for problem in problems:
            typer.echo(f"✗ {cls.cloud_event_type()}: {problem}")
        failures += bool(problems)
    if failures:
        raise typer.Exit(1)
    typer.echo(f"✓ {len(EVENT_TYPES)} event schemas are backward compatible")


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def metrics(ctx: typer.Context) -> None:
    """Performance metrics of an equity or returns series in a CSV file (date + one value
    column): `trader metrics FILE [--kind equity|returns] [--periods-per-year N]
    [--risk-free RATE] [--benchmark FILE] [--json]`. `trader metrics --help` for details."""
    # Imported here: the analytics stack (pandas, numpy) is heavy and only this command needs it.
    from analytics.cli import metrics_app

    metrics_app(args=list(ctx.args), prog_name="trader metrics")


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def backtest(ctx: typer.Context) -> None:
    """Backtest the built-in sma-cross strategy over daily bars from CSV files, in one process:
    `trader backtest FILE... [--fast N] [--slow N] [--qty Q] [--cash C] [--fee-bps B]
    [--slippage-bps B] [--symbol S] [--out DIR] [--json]`. `trader backtest --help` for details."""
    # Imported here: the trading engine and analytics stacks are heavy; only this command uses them.
    from orchestrator.backtest.cli import backtest_app

    backtest_app(args=list(ctx.args), prog_name="trader backtest")


# The dual-run module imports the orchestrator only when the command runs.
app.command("dual-run")(dual_run_command)
ops.register(app)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
