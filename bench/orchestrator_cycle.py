"""Trading cycles through the real sidecars: cron tick -> every order of the cycle acknowledged
by the trading engine.

Run: ``.venv/bin/python -m bench orchestrator_cycle``. Prints figures; asserts nothing.

Starts, on 127.0.0.1 free ports in a temporary folder (``bench._sidecars``): Redis (state store,
workflow state), NATS JetStream (pub/sub), Dapr placement and scheduler (workflows), and
trading-engine, ai-decision and orchestrator, each with its daprd. Forty one-minute bars of an
uptrend and a quote per symbol go to market.events, so the local model buys each symbol; the
orchestrator runs one strategy on those symbols with a 5 s cadence, driven by the real
``cycle-cron`` input binding (components/bindings/cycle-cron.yaml, every 5 s). Each cycle is a
Dapr Workflow: decisions over the ``ai-requests`` HTTP binding, an order per decision by service
invocation, polling until filled. After each cycle the benchmark closes the positions (and
refreshes the quotes), so the next cycle buys again.

Per cycle, from the orchestrator's cycle log (GET /cycles): the tick (when the binding's call
reached the orchestrator) to the last of its orders accepted by the engine (the order's
``created_at``), and the tick to the workflow's end; p50, p99 and max over the cycles that
placed orders. Same host, same clock. Bounded (``TIME_LIMIT_SECONDS``); stops all it started.
"""

from __future__ import annotations

import json
import os
import random
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx

from bench._sidecars import daprd_version, nats_redis_platform, percentile
from tests.support.platform import app_spec, eventually, publish_through
from trader_common.contracts import BarClosed, QuoteUpdated, utc_now

CYCLES = 30
SYMBOLS = 3
CADENCE_SECONDS = 5
TIME_LIMIT_SECONDS = 360.0
STRATEGY = "bench"


def _uptrend(symbol: str, seed: int, t0: datetime, n: int = 40) -> list[BarClosed]:
    """``n`` one-minute bars rising about 0.6 % a bar with a little noise: the local model buys."""
    rng = random.Random(seed)
    bars = []
    price = Decimal("100")
    for i in range(n):
        close = (price * Decimal(str(1.006 + rng.gauss(0, 0.001)))).quantize(Decimal("0.0001"))
        bars.append(
            BarClosed(
                symbol=symbol,
                source="bench",
                timeframe="1Min",
                ts_open=t0 + timedelta(minutes=i),
                ts_event=t0 + timedelta(minutes=i + 1),
                open=price,
                high=max(price, close),
                low=min(price, close),
                close=close,
                volume=Decimal(1000 + rng.randrange(500)),
            )
        )
        price = close
    return bars


def _quotes(sidecar_url: str, prices: dict[str, Decimal]) -> None:
    for symbol, price in prices.items():
        quote = QuoteUpdated(
            symbol=symbol,
            source="bench",
            ts_event=utc_now(),
            bid=price,
            ask=price + Decimal("0.02"),
            bid_size=Decimal(1_000_000),
            ask_size=Decimal(1_000_000),
        )
        publish_through(sidecar_url, quote, "/bench")


def _seconds(later: str | None, earlier: str) -> float | None:
    if later is None:
        return None
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def _figures(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name}: p50 {percentile(ms, 50):.0f} ms, p99 {percentile(ms, 99):.0f} ms, "
        f"max {max(ms, default=float('nan')):.0f} ms"
    )


def _run(engine: str, ai: str, orchestrator: str, engine_sidecar: str, symbols: list[str]) -> None:
    t0 = utc_now().replace(second=0, microsecond=0) - timedelta(minutes=41)
    prices: dict[str, Decimal] = {}
    for n, symbol in enumerate(symbols):
        bars = _uptrend(symbol, 5 + n, t0)
        for bar in bars:
            publish_through(engine_sidecar, bar, "/bench")
        prices[symbol] = bars[-1].close
    _quotes(engine_sidecar, prices)
    with httpx.Client(timeout=30) as client:
        for symbol in symbols:

            def ready(symbol: str = symbol) -> bool:
                features = client.get(
                    f"{ai}/features/{symbol}", params={"as_of": utc_now().isoformat()}
                ).json()
                bars_used = int((features.get("bars") or {}).get("bars_used") or 0)
                return bars_used >= 40 and client.get(f"{engine}/quotes/{symbol}").is_success

            eventually(ready, timeout=120, what=f"features and a quote for {symbol}")
        since = utc_now()
        print(
            f"{len(symbols)} symbols, one strategy every {CADENCE_SECONDS} s; measuring "
            f"{CYCLES} cycles that place orders",
            flush=True,
        )
        seen: set[str] = set()
        measured: list[dict[str, Any]] = []
        without_orders = failed = 0
        deadline = time.monotonic() + TIME_LIMIT_SECONDS
        while len(measured) < CYCLES and time.monotonic() < deadline:
            time.sleep(0.5)
            cycles = client.get(f"{orchestrator}/cycles", params={"since": since.isoformat()})
            if cycles.status_code != 200:
                print(f"  GET /cycles: HTTP {cycles.status_code} {cycles.text[:300]}; again")
                continue
            for cycle in cycles.json():
                if cycle["status"] == "running" or cycle["cycle_id"] in seen:
                    continue
                seen.add(cycle["cycle_id"])
                if cycle["status"] != "completed":
                    failed += 1
                    print(f"  cycle {cycle['cycle_id']} {cycle['status']}: {cycle['error']}")
                elif cycle["placed"] == 0:
                    without_orders += 1
                else:
                    measured.append(cycle)
                # Flat again, so the next cycle buys again; fresh quotes to fill against.
                for position in client.get(f"{engine}/positions").json():
                    if position["symbol"] in symbols and Decimal(position["qty"]) != 0:
                        client.delete(f"{engine}/positions/{position['symbol']}")
                _quotes(engine_sidecar, prices)
    acknowledged = []
    finished = []
    for cycle in measured:
        accepted = [o["accepted_at"] for o in cycle["orders"] if o["accepted_at"]]
        if accepted:
            acknowledged.append(_seconds(max(accepted), cycle["started_at"]) or 0.0)
        finished.append(cycle["duration_seconds"] or 0.0)
    orders = sum(c["placed"] for c in measured)
    filled = sum(c["filled"] for c in measured)
    print(
        f"{len(measured)} cycles with orders ({orders} orders, {filled} filled); "
        f"{without_orders} cycles without orders (a tick before the positions were closed), "
        f"{failed} failed"
    )
    print(_figures("cron tick -> all the cycle's orders acknowledged", acknowledged))
    print(_figures("cron tick -> cycle workflow completed (fills confirmed)", finished))
    print(f"load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    symbols = [f"B{uuid4().hex[:4].upper()}{n}" for n in range(SYMBOLS)]
    strategies = [
        {
            "strategy_id": STRATEGY,
            "symbols": symbols,
            "cadence_seconds": CADENCE_SECONDS,
            "calendar": "24/7",
            "fill_timeout": 10,
        }
    ]
    specs = [
        app_spec(
            "trading-engine",
            {
                "TRADING_ENGINE_EQUITIES": ",".join(symbols),
                "TRADING_ENGINE_EQUITY_CALENDAR": "24/7",
                "TRADING_ENGINE_LOG_LEVEL": "WARNING",
            },
        ),
        app_spec(
            "ai-decision",
            {
                "AI_DECISION_FEATURE_TIMEFRAME": "1Min",
                "AI_DECISION_NEWS_SOURCE": "none",
                "AI_DECISION_LOG_LEVEL": "WARNING",
            },
        ),
        app_spec(
            "orchestrator",
            {
                "ORCHESTRATOR_STRATEGIES": json.dumps(strategies),
                "ORCHESTRATOR_LOG_LEVEL": "WARNING",
            },
        ),
    ]
    with nats_redis_platform("bench-orchestrator-", control_plane=True) as platform:
        platform.apps.extend(specs)  # so each sidecar gets TRADER_<APP>_URL (ai-requests binding)
        engine, ai, orchestrator = (platform.start_app(spec) for spec in specs)
        platform.wait_ready([engine, ai, orchestrator], 120)
        print(
            f"NATS JetStream + Redis, daprd {daprd_version(engine.sidecar_url)}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        try:
            _run(engine.url, ai.url, orchestrator.url, engine.sidecar_url, symbols)
        except Exception:
            for running in (orchestrator, engine, ai):  # the logs go with the temporary folder
                print(f"--- {running.app.name} (last lines)\n{running.app.log_tail(40)}")
            raise


if __name__ == "__main__":
    main()
