"""Commands that look at and steer the running platform through its apps' HTTP APIs:
orders, positions, account, decisions, and run / pause / halt / kill switch."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer

from .paths import repo_root
from .runfile import load_run_file

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
StrategyOption = Annotated[
    str | None, typer.Option("--strategy", help="One strategy (default: everything)")
]
ReasonOption = Annotated[str, typer.Option(help="Why; every operator sees it")]
UrlOption = Annotated[
    str | None, typer.Option("--url", help="The app's base URL (default: from dapr/dapr.yaml)")
]


def _base_url(app_id: str, url: str | None) -> str:
    if url:
        return url.rstrip("/")
    spec = load_run_file(repo_root() / "dapr" / "dapr.yaml").app(app_id)
    return f"http://127.0.0.1:{spec.app_port}"


def _call(app_id: str, url: str | None, method: str, path: str, **kwargs: Any) -> Any:
    base = _base_url(app_id, url)
    try:
        response = httpx.request(method, f"{base}{path}", timeout=15, **kwargs)
    except httpx.HTTPError as exc:
        typer.secho(
            f"✗ {app_id} is not answering at {base} ({type(exc).__name__}) — start the platform "
            "with `make run`, or pass --url",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1) from None
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        detail = body.get("detail", body) if isinstance(body, dict) else body
        typer.secho(
            f"✗ {app_id}: HTTP {response.status_code}: {detail}", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(1)
    return body


def _print_rows(rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        typer.echo("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    typer.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        typer.echo("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


def register(app: typer.Typer) -> None:
    @app.command()
    def orders(
        status: Annotated[str | None, typer.Option(help="open, closed or a status")] = None,
        symbol: Annotated[str | None, typer.Option(help="Only this symbol")] = None,
        url: UrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Orders of the paper account (trading-engine)."""
        params = {k: v for k, v in (("status", status), ("symbol", symbol)) if v}
        rows = _call("trading-engine", url, "GET", "/orders", params=params)
        _print_rows(
            rows,
            [
                "order_id",
                "client_order_id",
                "symbol",
                "side",
                "order_type",
                "qty",
                "filled_qty",
                "status",
            ],
            as_json,
        )

    @app.command()
    def positions(url: UrlOption = None, as_json: JsonOption = False) -> None:
        """Open positions (trading-engine)."""
        rows = _call("trading-engine", url, "GET", "/positions")
        _print_rows(
            rows,
            ["symbol", "qty", "avg_entry_price", "market_price", "unrealized_pnl", "realized_pnl"],
            as_json,
        )

    @app.command()
    def account(url: UrlOption = None, as_json: JsonOption = False) -> None:
        """Cash, equity and buying power (trading-engine)."""
        body = _call("trading-engine", url, "GET", "/account")
        if as_json:
            typer.echo(json.dumps(body, indent=2, default=str))
        else:
            for key, value in body.items():
                typer.echo(f"{key:<22} {value}")

    @app.command()
    def decisions(
        strategy: Annotated[str, typer.Option(help="Strategy id")] = "momentum",
        limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
        url: UrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """A strategy's recent decisions with their audit status (ai-decision)."""
        rows = _call(
            "ai-decision",
            url,
            "GET",
            "/decisions",
            params={"strategy_id": strategy, "limit": limit},
        )
        _print_rows(
            rows, ["decision_id", "symbol", "status", "action", "provider", "model"], as_json
        )

    def _operate(
        command: str, strategy: str | None, reason: str, url: str | None, as_json: bool
    ) -> None:
        scope = strategy or "global"
        body = _call(
            "orchestrator", url, "POST", f"/operations/{scope}/{command}", json={"reason": reason}
        )
        if as_json:
            typer.echo(json.dumps(body, indent=2))
        else:
            typer.echo(f"✓ {body['scope']}: {body['previous']} → {body['current']}")

    @app.command()
    def pause(
        strategy: StrategyOption = None,
        reason: ReasonOption = "paused from the command line",
        url: UrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Pause trading (no new cycles) globally or for one strategy."""
        _operate("pause", strategy, reason, url, as_json)

    @app.command()
    def resume(
        strategy: StrategyOption = None,
        reason: ReasonOption = "resumed from the command line",
        url: UrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Resume trading after a pause or a halt."""
        _operate("resume", strategy, reason, url, as_json)

    @app.command()
    def halt(
        strategy: StrategyOption = None,
        reason: ReasonOption = "halted from the command line",
        url: UrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Halt trading until an operator resumes it."""
        _operate("halt", strategy, reason, url, as_json)

    @app.command("kill-switch")
    def kill_switch(
        reason: ReasonOption = "kill switch from the command line",
        url: UrlOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Halt everything and cancel every open order."""
        body = _call(
            "orchestrator", url, "POST", "/operations/kill-switch", json={"reason": reason}
        )
        if as_json:
            typer.echo(json.dumps(body, indent=2))
        else:
            typer.echo(f"✓ halted; {body['orders_canceled']} open orders canceled")
