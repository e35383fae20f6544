"""What `trader run` prints while the platform paper-trades: one line per finished trading cycle
and, on exit, a summary of the run.

Cycles come from the orchestrator's cycle log (``GET /cycles?since=``: each cycle with its
decisions, the orders it placed and how they ended, or why it failed), polled every couple of
seconds; the summary adds the trading engine's account and positions. The formatting functions
are pure; ``CycleConsole`` does the HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

PREFIX = f"{'cycle':>16} | "  # lines up with the apps' echoed output ("  orchestrator | …")
MAX_SYMBOLS = 6
MAX_REASON = 240


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _qty(value: Any) -> str:
    number = _decimal(value)
    if number is None:
        return "?"
    return format(number.normalize(), "f")


def _money(value: Any, signed: bool = False) -> str:
    number = _decimal(value)
    if number is None:
        return "?"
    return f"{number:+,.2f}" if signed else f"{number:,.2f}"


def _clock(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%H:%M:%S")
    except ValueError:
        return "--:--:--"


def _symbols(symbols: Sequence[str]) -> str:
    shown = ",".join(symbols[:MAX_SYMBOLS])
    return shown + (f",+{len(symbols) - MAX_SYMBOLS}" if len(symbols) > MAX_SYMBOLS else "")


def cycle_line(cycle: Mapping[str, Any]) -> str:
    """One finished cycle: start time (UTC), strategy, cycle id, symbols, decisions, orders
    placed / filled / canceled, duration and status, with the reason when it did not
    complete."""
    decisions = cycle.get("decisions")
    duration = cycle.get("duration_seconds")
    status = str(cycle.get("status", "?"))
    parts = [
        _clock(cycle.get("started_at")),
        str(cycle.get("strategy_id", "?")),
        str(cycle.get("cycle_id", "?")),
        _symbols([str(s) for s in cycle.get("symbols") or ()]),
        f"{decisions if decisions is not None else '?'} decisions",
        f"orders {cycle.get('placed', 0)} placed / {cycle.get('filled', 0)} filled / "
        f"{cycle.get('canceled', 0)} canceled",
        f"{float(duration):.1f}s" if duration is not None else "?s",
    ]
    if status == "completed":
        parts.append("✓ completed")
    else:
        reason = " ".join(str(cycle.get("error") or "no reason given").split())
        if len(reason) > MAX_REASON:
            reason = reason[: MAX_REASON - 1] + "…"
        parts.append(f"✗ {status}: {reason}")
    return "  ".join(parts)


@dataclass
class Tally:
    """The cycles of this run, counted from the lines printed."""

    cycles: int = 0
    failed: int = 0
    placed: int = 0
    filled: int = 0
    canceled: int = 0
    still_running: int = 0

    def add(self, cycle: Mapping[str, Any]) -> None:
        self.cycles += 1
        if cycle.get("status") != "completed":
            self.failed += 1
        self.placed += int(cycle.get("placed") or 0)
        self.filled += int(cycle.get("filled") or 0)
        self.canceled += int(cycle.get("canceled") or 0)


def summary_lines(
    tally: Tally,
    account: Mapping[str, Any] | None,
    positions: Sequence[Mapping[str, Any]] | None,
    problems: Sequence[str] = (),
) -> list[str]:
    """The exit summary: cycles run / failed, orders, fills, positions, realized and unrealized
    P&L, equity against the starting cash. ``None`` for what could not be read."""
    running = f", {tally.still_running} still running" if tally.still_running else ""
    lines = [
        "── summary of this run " + "─" * 40,
        f"cycles     {tally.cycles} run, {tally.failed} failed{running}",
        f"orders     {tally.placed} placed, {tally.filled} filled, {tally.canceled} canceled",
    ]
    if positions is None:
        lines.append("positions  not available")
    else:
        held = [p for p in positions if (_decimal(p.get("qty")) or 0) != 0]
        lines.append(
            "positions  "
            + (
                ", ".join(
                    f"{p.get('symbol')} {_qty(p.get('qty'))} @ {_money(p.get('avg_entry_price'))}"
                    for p in held
                )
                or "none"
            )
        )
    if account is None:
        lines.append("account    not available")
    else:
        equity = _decimal(account.get("equity"))
        start = _decimal(account.get("starting_cash"))
        lines.append(
            f"P&L        realized {_money(account.get('realized_pnl'), signed=True)}, "
            f"unrealized {_money(account.get('unrealized_pnl'), signed=True)}, "
            f"fees {_money(account.get('fees'))}"
        )
        change = ""
        if equity is not None and start:
            change = f": {equity - start:+,.2f} ({(equity - start) / start * 100:+.2f}%)"
        lines.append(f"equity     {_money(equity)} vs starting cash {_money(start)}{change}")
    lines.extend(f"note       {problem}" for problem in problems)
    return lines


@dataclass
class CycleConsole:
    """Polls the orchestrator's cycle log and prints each cycle once, when it has ended."""

    orchestrator_url: str | None
    engine_url: str | None
    since: datetime
    say: Callable[[str], object] = print
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=3))
    tally: Tally = field(default_factory=Tally)
    printed: set[str] = field(default_factory=set)
    last_error: str | None = None

    def poll(self) -> list[dict[str, Any]]:
        """Print the cycles that ended since the last poll; returns them."""
        cycles = self._cycles()
        if cycles is None:
            return []
        new = []
        running = 0
        for cycle in cycles:
            if cycle.get("status") == "running":
                running += 1
                continue
            if cycle.get("cycle_id") in self.printed:
                continue
            self.printed.add(str(cycle.get("cycle_id")))
            self.tally.add(cycle)
            self.say(PREFIX + cycle_line(cycle))
            new.append(cycle)
        self.tally.still_running = running
        return new

    def finish(self) -> list[str]:
        """A last poll, then the summary (printed and returned)."""
        self.poll()
        problems = [f"cycle log: {self.last_error}"] if self.last_error else []
        account = self._get(self.engine_url, "/account", problems)
        positions = self._get(self.engine_url, "/positions", problems)
        self.client.close()
        lines = summary_lines(
            self.tally,
            account if isinstance(account, dict) else None,
            positions if isinstance(positions, list) else None,
            problems,
        )
        for line in lines:
            self.say(line)
        return lines

    def _cycles(self) -> list[dict[str, Any]] | None:
        if self.orchestrator_url is None:
            return None
        body = self._get(
            self.orchestrator_url, "/cycles", None, params={"since": self.since.isoformat()}
        )
        if not isinstance(body, list):
            return None
        self.last_error = None
        return [c for c in body if isinstance(c, dict)]

    def _get(
        self,
        base: str | None,
        path: str,
        problems: list[str] | None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        if base is None:
            return None
        try:
            response = self.client.get(f"{base}{path}", params=params)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            reason = f"{base}{path}: {str(exc) or type(exc).__name__}"
            if problems is None:
                self.last_error = reason
            else:
                problems.append(reason)
            return None
