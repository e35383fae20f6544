"""The trading engine through the real sidecars: HTTP submit -> fill event on trade.events.

Run: ``.venv/bin/python -m bench trading_engine_sidecar``. Prints figures; asserts nothing.

Starts, on 127.0.0.1 free ports in a temporary folder (``bench._sidecars``, as in
``bench.market_data_sidecar``): Redis (state store), NATS JetStream (pub/sub), the trading
engine and a recording subscriber (tests/support/recorder.py), each with its daprd. One quote
reaches the engine through the broker; then market orders are submitted one at a time over
HTTP. For each: the HTTP round trip (the command appended to the event store in the state
store, its events published from the outbox by the sidecar), and submit -> ``OrderFilled``
arrival at the subscriber (wall clock, same host): p50 and p99 of both. Bounded (at most
``TIME_LIMIT_SECONDS`` of orders); stops all it started; about 40 s in all.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import httpx

from bench._sidecars import daprd_version, nats_redis_platform, percentile
from tests.support.platform import Recorder, app_spec, eventually, recorder_spec
from trader_common.contracts import QuoteUpdated

REPO = Path(__file__).resolve().parents[1]
ORDERS = 300
WARMUP = 20
FILLED = "ai.active-trader.trade.order-filled.v1"
TOPIC = "trade.events"
TIME_LIMIT_SECONDS = 120.0


def _run(engine_url: str, recorder: Recorder) -> None:
    with httpx.Client(timeout=10) as client:
        recorder.publish(
            QuoteUpdated(
                ts_event=datetime.now(UTC),
                symbol="AAPL",
                source="bench",
                bid=Decimal("100.00"),
                ask=Decimal("100.01"),
                bid_size=1_000_000,
                ask_size=1_000_000,
            )
        )
        eventually(
            lambda: client.get(f"{engine_url}/quotes/AAPL").status_code == 200,
            what="the engine to see the quote",
        )
        submitted: dict[str, float] = {}
        round_trips: list[float] = []
        deadline = time.monotonic() + TIME_LIMIT_SECONDS
        for n in range(WARMUP + ORDERS):
            if time.monotonic() > deadline:
                break
            side = "buy" if n % 2 == 0 else "sell"
            at = time.time()
            response = client.post(
                f"{engine_url}/orders",
                json={"symbol": "AAPL", "side": side, "qty": "1", "time_in_force": "gtc"},
            )
            done = time.time()
            response.raise_for_status()
            if n >= WARMUP:
                submitted[response.json()["order_id"]] = at
                round_trips.append((done - at) * 1000)
        time.sleep(2)  # the last fills arrive
        fills: dict[str, float] = {}
        for event in recorder.received(TOPIC):
            if event["type"] == FILLED and event["data"]["order_id"] in submitted:
                fills.setdefault(event["data"]["order_id"], event["received_at"])
    latencies = [(fills[o] - submitted[o]) * 1000 for o in submitted if o in fills]
    print(
        f"{len(submitted)} market orders (after {WARMUP} warm-up), one at a time; "
        f"{len(latencies)} fills observed on {TOPIC}"
    )
    print(
        f"HTTP submit round trip (append + outbox publish): p50 {percentile(round_trips, 50):.1f}"
        f" ms, p99 {percentile(round_trips, 99):.1f} ms"
    )
    print(
        f"submit -> OrderFilled at the subscriber: p50 {percentile(latencies, 50):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    with nats_redis_platform("bench-trading-engine-") as platform:
        recorder_app = platform.start_app(recorder_spec([TOPIC]))
        engine = platform.start_app(
            app_spec(
                "trading-engine",
                {
                    "TRADING_ENGINE_EQUITY_CALENDAR": "24/7",
                    "TRADING_ENGINE_STREAM": f"bench-{uuid4().hex[:8]}",
                    "TRADING_ENGINE_LOG_LEVEL": "WARNING",
                },
            )
        )
        platform.wait_ready([recorder_app, engine], 90)
        recorder = Recorder(recorder_app, [TOPIC])
        recorder.wait_subscribed()
        print(
            f"NATS JetStream + Redis state store, daprd {daprd_version(engine.sidecar_url)}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        _run(engine.url, recorder)


if __name__ == "__main__":
    main()
