"""`trader run` as a person runs it (`make run`), in a subprocess: it starts its own Redis, NATS,
PostgreSQL, placement, scheduler and the apps with their sidecars (here trading-engine,
ai-decision and orchestrator, from a copy of dapr/dapr.yaml on free ports under a temporary
TRADER_HOME), prints a line per finished trading cycle while the cron binding drives cycles, and
on SIGTERM prints a summary of the run before it stops everything."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
import yaml

from tests.support.platform import eventually, publish_through
from tests.unit.ai_decision.builders import bar_event, bar_series, quote_event
from trader_cli.netutil import free_port
from trader_common.contracts import utc_now

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
APPS = ("trading-engine", "ai-decision", "orchestrator")
STRATEGY = "e2e-run"


def _run_file(symbol: str) -> dict[str, Any]:
    """dapr/dapr.yaml with absolute paths, three apps on free ports, a 5-second strategy."""
    source = REPO / "dapr" / "dapr.yaml"
    document: dict[str, Any] = yaml.safe_load(source.read_text())
    common = document["common"]
    common["resourcesPaths"] = [
        str((source.parent / p).resolve()) for p in common["resourcesPaths"]
    ]
    common["configFilePath"] = str((source.parent / common["configFilePath"]).resolve())
    env = {
        "trading-engine": {
            "TRADING_ENGINE_EQUITIES": symbol,
            "TRADING_ENGINE_EQUITY_CALENDAR": "24/7",
        },
        "ai-decision": {"AI_DECISION_FEATURE_TIMEFRAME": "1Min", "AI_DECISION_NEWS_SOURCE": "none"},
        "orchestrator": {
            "ORCHESTRATOR_STRATEGIES": json.dumps(
                [
                    {
                        "strategy_id": STRATEGY,
                        "symbols": [symbol],
                        "cadence_seconds": 5,
                        "calendar": "24/7",
                        "fill_timeout": 5,
                    }
                ]
            )
        },
    }
    apps = []
    for app in document["apps"]:
        if app["appID"] not in APPS:
            continue
        app["appDirPath"] = str((source.parent / app["appDirPath"]).resolve())
        for key in ("appPort", "daprHTTPPort", "daprGRPCPort", "metricsPort"):
            app[key] = free_port()
        app["env"] = env[app["appID"]]
        apps.append(app)
    document["apps"] = apps
    return document


@pytest.fixture
def trader_home() -> Iterator[Path]:
    # Not pytest's tmp_path: PostgreSQL runs as its own user and needs to traverse the folder.
    home = Path(tempfile.mkdtemp(prefix="trader-run-console-"))
    (home / "dapr").mkdir()
    (home / "components").symlink_to(REPO / "components")
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


class Console:
    """The output of `trader run`, read from the file it writes to."""

    def __init__(self, path: Path, process: subprocess.Popen[bytes]) -> None:
        self.path = path
        self.process = process

    @property
    def text(self) -> str:
        return self.path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float, what: str) -> re.Match[str]:
        def found() -> re.Match[str] | None:
            if self.process.poll() is not None:
                raise RuntimeError(f"trader run exited early:\n{self.text[-4000:]}")
            return re.search(pattern, self.text, re.MULTILINE)

        try:
            match = eventually(found, timeout=timeout, what=what)
        except AssertionError:
            raise AssertionError(f"no {what}; console:\n{self.text[-4000:]}") from None
        assert match is not None
        return match


def test_run_console_paper_trading_prints_cycle_lines_and_a_summary_on_sigterm(
    trader_home: Path, dapr_installed: None
) -> None:
    symbol = f"R{uuid4().hex[:5].upper()}"
    run_file = _run_file(symbol)
    (trader_home / "dapr" / "dapr.yaml").write_text(yaml.safe_dump(run_file, sort_keys=False))
    ports = {app["appID"]: app for app in run_file["apps"]}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADER_", "PUBSUB", "STATE"))}
    env.update(
        {
            "TRADER_HOME": str(trader_home),
            "PYTHONUNBUFFERED": "1",
            **{
                f"TRADER_{name}_PORT": str(free_port())
                for name in ("REDIS", "NATS", "POSTGRES", "KAFKA", "PLACEMENT", "SCHEDULER")
            },
        }
    )
    output = trader_home / "console.txt"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "trader_cli.main", "run"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    console = Console(output, process)
    try:
        console.wait_for(r"✓ platform ready", 300, "platform ready")

        # A strong uptrend, so the local model buys, and a quote the paper exchange fills at.
        engine_sidecar = f"http://127.0.0.1:{ports['trading-engine']['daprHTTPPort']}"
        ai = f"http://127.0.0.1:{ports['ai-decision']['appPort']}"
        t0 = utc_now().replace(second=0, microsecond=0) - timedelta(minutes=45)
        bars = bar_series(40, seed=5, drift=0.006, vol=0.001, t0=t0)
        for bar in bars:
            publish_through(engine_sidecar, bar_event(symbol, bar), "/e2e-run-console")
        last = bars[-1].close
        publish_through(
            engine_sidecar,
            quote_event(symbol, utc_now(), str(last), str(last + 1)),
            "/e2e-run-console",
        )

        def bars_used() -> int:
            features = httpx.get(f"{ai}/features/{symbol}", params={"as_of": utc_now().isoformat()})
            return int((features.json().get("bars") or {}).get("bars_used") or 0)

        eventually(lambda: bars_used() >= 40, timeout=120, what="features from 40 bars")

        line = rf"^\s+cycle \| \d\d:\d\d:\d\d  {STRATEGY}  {STRATEGY}-\d{{8}}T\d{{6}}  {symbol}  "
        console.wait_for(line + r"\d+ decisions  .*✓ completed$", 180, "a cycle line")
        console.wait_for(
            line + r"1 decisions  orders 1 placed / 1 filled / 0 canceled  \d+\.\ds  ✓ completed$",
            180,
            "a cycle line with a filled order",
        )

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=180) == 0, console.text[-4000:]
    finally:
        if process.poll() is None:  # stop it the way a person would, so it stops what it started
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=180)
            except subprocess.TimeoutExpired:
                process.kill()

    text = console.text
    start = text.index("── summary of this run")
    summary = text[start:]
    lines = re.findall(rf"^.*cycle \| .*{STRATEGY}-.*$", text[:start], re.MULTILINE)
    shown = "\n".join(lines) + "\n" + summary
    print(shown)
    assert "✓ stopped everything this run started" in summary, shown
    cycles = re.search(r"^cycles     (\d+) run, (\d+) failed", summary, re.MULTILINE)
    assert cycles is not None, shown
    # The summary counts the lines printed; a failed one (a platform hiccup) says why.
    assert int(cycles.group(1)) == len(lines), shown
    assert int(cycles.group(2)) == len([x for x in lines if re.search(r"  ✗ \w+: \S", x)])
    assert re.search(r"^orders     \d+ placed, [1-9]\d* filled, 0 canceled$", summary, re.M)
    assert re.search(rf"^positions  {symbol} \d+ @ [\d,]+\.\d\d$", summary, re.MULTILINE), summary
    assert re.search(r"^P&L        realized [+-][\d,.]+, unrealized [+-][\d,.]+", summary, re.M)
    assert re.search(r"^equity     [\d,.]+ vs starting cash [\d,.]+: [+-]", summary, re.M), summary
