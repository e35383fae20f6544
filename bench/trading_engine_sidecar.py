"""The trading engine through the real sidecars: HTTP submit -> fill event on trade.events.

Run: ``.venv/bin/python -m bench trading_engine_sidecar``. Prints figures; asserts nothing.

Starts, on 127.0.0.1 free ports in a temporary folder (``LoopbackPlatform``, as in
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
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from tests.support.platform import Recorder, app_spec, eventually, recorder_spec
from trader_cli.infra import NatsServer, RedisServer, Server
from trader_cli.netutil import free_port
from trader_cli.platform import LocalPlatform
from trader_cli.runfile import Profile, load_run_file
from trader_common.contracts import QuoteUpdated

REPO = Path(__file__).resolve().parents[1]
ORDERS = 300
WARMUP = 20
FILLED = "ai.active-trader.trade.order-filled.v1"
TOPIC = "trade.events"
TIME_LIMIT_SECONDS = 120.0


# The same loopback-only platform as bench/market_data_sidecar.py (kept here so this benchmark
# does not depend on market-data's modules).
def LoopbackPlatform(**kwargs: Any) -> LocalPlatform:  # noqa: N802 - reads as a class
    """A ``LocalPlatform`` without placement and scheduler (nothing here needs actors or
    workflows); every socket is on 127.0.0.1."""
    return LocalPlatform(control_plane=False, **kwargs)


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def _daprd_version(sidecar_url: str) -> Any:
    try:
        return httpx.get(f"{sidecar_url}/v1.0/metadata", timeout=5).json()["runtimeVersion"]
    except (httpx.HTTPError, KeyError, ValueError):
        return "?"


def _wait_subscribed(recorder: Recorder) -> None:
    def seen() -> bool:
        probe = {
            "specversion": "1.0",
            "id": str(uuid4()),
            "source": "/bench",
            "type": "ai.active-trader.test.probe.v1",
            "datacontenttype": "application/json",
            "data": {},
        }
        httpx.post(
            f"{recorder.sidecar_url}/v1.0/publish/pubsub/{TOPIC}",
            json=probe,
            headers={"content-type": "application/cloudevents+json"},
            timeout=10,
        ).raise_for_status()
        return eventually(
            lambda: any(e["id"] == probe["id"] for e in recorder.received(TOPIC)), timeout=3
        )

    eventually(seen, timeout=90, what="the recorder's subscription")


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
        f"HTTP submit round trip (append + outbox publish): p50 {_percentile(round_trips, 50):.1f}"
        f" ms, p99 {_percentile(round_trips, 99):.1f} ms"
    )
    print(
        f"submit -> OrderFilled at the subscriber: p50 {_percentile(latencies, 50):.1f} ms, "
        f"p99 {_percentile(latencies, 99):.1f} ms; load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    profile = Profile(pubsub="nats", state="redis")
    run_file = load_run_file(REPO / "dapr" / "dapr.yaml")
    with tempfile.TemporaryDirectory(prefix="bench-trading-engine-") as folder:
        base = Path(folder)
        secrets = base / "secrets.json"
        secrets.write_text((REPO / "components/secrets/secrets.template.json").read_text())
        servers: list[Server] = []
        platform: LocalPlatform | None = None
        try:
            factories: list[Callable[[], Server]] = [
                lambda: RedisServer(base / "redis", free_port()),
                lambda: NatsServer(base / "nats", free_port()),
            ]
            for factory in factories:
                servers.append(factory())
                servers[-1].start(timeout=60)
            platform = LoopbackPlatform(
                apps=[],
                resources_paths=profile.resources_paths(REPO, run_file.resources_paths),
                config=run_file.config,
                infra_env={k: v for server in servers for k, v in server.env.items()},
                run_dir=base / "run",
                python=sys.executable,
                secrets_file=secrets,
                log_level="warn",
            )
            platform.start(timeout=120)
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
            _wait_subscribed(recorder)
            print(
                f"NATS JetStream + Redis state store, daprd {_daprd_version(engine.sidecar_url)}, "
                f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            _run(engine.url, recorder)
        finally:
            if platform is not None:
                platform.stop()
            for server in reversed(servers):
                server.stop()


if __name__ == "__main__":
    main()
