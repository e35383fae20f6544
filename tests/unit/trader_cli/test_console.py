"""What `trader run` prints: a line per finished cycle and the summary on exit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from trader_cli.console import PREFIX, CycleConsole, Tally, cycle_line, summary_lines

SINCE = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def cycle(n: int, status: str = "completed", **changes: Any) -> dict[str, Any]:
    return {
        "cycle_id": f"momentum-2026112415{n:02d}00",
        "strategy_id": "momentum",
        "symbols": ["AAPL", "MSFT", "SPY"],
        "trigger": "cron",
        "status": status,
        "started_at": f"2026-11-24T15:{n:02d}:00+00:00",
        "finished_at": None if status == "running" else f"2026-11-24T15:{n:02d}:02.400000+00:00",
        "duration_seconds": None if status == "running" else 2.4,
        "decisions": 3,
        "placed": 2,
        "filled": 1,
        "canceled": 1,
        "orders": [],
        "error": None,
        **changes,
    }


ACCOUNT = {
    "starting_cash": "100000",
    "equity": "100012.3456",
    "realized_pnl": "10.5",
    "unrealized_pnl": "-1.25",
    "fees": "0.4",
}
POSITIONS = [
    {"symbol": "AAPL", "qty": "12.000", "avg_entry_price": "101.2"},
    {"symbol": "MSFT", "qty": "0", "avg_entry_price": "0"},
]


def test_cycle_line_completed_cycle_shows_counts_duration_and_status() -> None:
    assert cycle_line(cycle(1)) == (
        "15:01:00  momentum  momentum-20261124150100  AAPL,MSFT,SPY  3 decisions  "
        "orders 2 placed / 1 filled / 1 canceled  2.4s  ✓ completed"
    )


def test_cycle_line_failed_cycle_gives_the_reason_on_one_line() -> None:
    line = cycle_line(
        cycle(
            2,
            "failed",
            decisions=None,
            placed=0,
            filled=0,
            canceled=0,
            error="decision request failed:\n  HTTP 500 boom",
        )
    )
    assert line.endswith(
        "? decisions  orders 0 placed / 0 filled / 0 canceled  2.4s  "
        "✗ failed: decision request failed: HTTP 500 boom"
    )


def test_cycle_line_many_symbols_and_long_reason_are_shortened() -> None:
    symbols = [f"S{n}" for n in range(9)]
    line = cycle_line(cycle(3, "terminated", symbols=symbols, error="x" * 1000))
    assert "  S0,S1,S2,S3,S4,S5,+3  " in line
    assert line.endswith("✗ terminated: " + "x" * 239 + "…")


def test_summary_lines_report_cycles_orders_positions_pnl_and_equity() -> None:
    tally = Tally(cycles=5, failed=1, placed=7, filled=6, canceled=1, still_running=1)
    assert summary_lines(tally, ACCOUNT, POSITIONS)[1:] == [
        "cycles     5 run, 1 failed, 1 still running",
        "orders     7 placed, 6 filled, 1 canceled",
        "positions  AAPL 12 @ 101.20",
        "P&L        realized +10.50, unrealized -1.25, fees 0.40",
        "equity     100,012.35 vs starting cash 100,000.00: +12.35 (+0.01%)",
    ]


def test_summary_lines_engine_unreachable_says_what_is_missing() -> None:
    lines = summary_lines(Tally(), None, None, ["http://x/account: refused"])
    assert lines[1:] == [
        "cycles     0 run, 0 failed",
        "orders     0 placed, 0 filled, 0 canceled",
        "positions  not available",
        "account    not available",
        "note       http://x/account: refused",
    ]


class Apps:
    """The orchestrator's GET /cycles and the engine's account and positions."""

    def __init__(self) -> None:
        self.cycles: list[dict[str, Any]] = []
        self.orchestrator_up = True
        self.since: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "orchestrator":
            if not self.orchestrator_up:
                raise httpx.ConnectError("connection refused", request=request)
            self.since.append(request.url.params["since"])
            return httpx.Response(200, json=self.cycles)
        body = {"/account": ACCOUNT, "/positions": POSITIONS}[request.url.path]
        return httpx.Response(200, content=json.dumps(body))


def console_for(apps: Apps, printed: list[str]) -> CycleConsole:
    return CycleConsole(
        "http://orchestrator",
        "http://engine",
        since=SINCE,
        say=printed.append,
        client=httpx.Client(transport=httpx.MockTransport(apps.handle)),
    )


def test_cycle_console_poll_prints_each_ended_cycle_once() -> None:
    apps, printed = Apps(), []
    console = console_for(apps, printed)
    apps.cycles = [cycle(1), cycle(2, "running")]
    console.poll()
    apps.cycles = [cycle(1), cycle(2, "failed", error="boom")]
    console.poll()
    console.poll()

    assert printed == [PREFIX + cycle_line(cycle(1)), PREFIX + cycle_line(apps.cycles[1])]
    assert apps.since == [SINCE.isoformat()] * 3


def test_cycle_console_finish_prints_the_tally_and_the_account() -> None:
    apps, printed = Apps(), []
    console = console_for(apps, printed)
    apps.cycles = [
        cycle(1),
        cycle(2, "failed", placed=1, filled=0, canceled=0),
        cycle(3, "running"),
    ]

    lines = console.finish()

    assert lines[1:4] == [
        "cycles     2 run, 1 failed, 1 still running",
        "orders     3 placed, 1 filled, 1 canceled",
        "positions  AAPL 12 @ 101.20",
    ]
    assert printed[-len(lines) :] == lines


def test_cycle_console_orchestrator_down_is_noted_in_the_summary() -> None:
    apps, printed = Apps(), []
    apps.orchestrator_up = False
    console = console_for(apps, printed)

    assert console.poll() == []
    lines = console.finish()

    assert lines[-1].startswith(
        "note       cycle log: http://orchestrator/cycles: connection refused"
    )
    assert "account    not available" not in lines
