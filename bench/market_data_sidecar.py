"""Market data through the real sidecars: synthetic quotes for 100 symbols published the way
market-data publishes them — its pipeline (sequencer, then one event per symbol per request) and
Dapr bulk publish through market-data's own daprd — on the pub/sub broker of a profile (NATS
JetStream, Kafka or Redis Streams), received by a recording subscriber behind its own daprd.

Run: ``.venv/bin/python -m bench market_data_sidecar``; ``PUBSUB=kafka`` (or ``redis``, or a
list: ``PUBSUB=nats,kafka,redis``) picks the profile(s), default ``nats``;
``BENCH_PUBLISHERS`` the number of concurrent pipelines (default 1). Prints figures; asserts
nothing. Aim: 20,000 quotes/s sustained with bulk publish.

Starts, on 127.0.0.1 free ports in a temporary folder, what ``trader run`` and the e2e tests
start (trader_cli's servers, daprd command and ``LocalPlatform``; the shipped components and
Dapr configuration, trace sampling from ``TRADER_TRACE_SAMPLING`` as always): Redis, the broker,
market-data (feed off: this process drives its pipeline) and the recorder
(tests/support/recorder.py), each with its daprd — every socket on 127.0.0.1 (see
``bench._sidecars``). Stops all of it; about 90 s per profile.

Every phase also prints the CPU time per published quote of this process (the market-data
path), of market-data's daprd and of the subscriber (the recorder and its daprd), which share
the machine's cores with it.

1. ``paced``: a rate the subscriber keeps up with; the publish → subscriber latency measured at
   the recorder (arrival time minus the quote's ``ts_event``, stamped when it is made).
2. ``full speed``: the market-data path flat out for a fixed time — synthetic quotes made tick
   by tick (as the synthetic feed does), sequenced, bulk published: the sustained publish rate
   (quotes the sidecar accepted per second); what the subscriber got in that time and its
   latency, queueing included when it falls behind.
3. ``publish only``: the same, with the quotes made before the clock starts (only re-stamped
   with the time and a new id at publish), to show what the sidecar and broker take when the
   synthetic generator's CPU is out of the way.
4. ``no subscriber``: ``full speed`` again once the recorder and its daprd are stopped: the
   publish side alone, with the cores the subscriber took in 2 and 3.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import cycle
from pathlib import Path
from typing import Any
from uuid import uuid4

from bench._sidecars import daprd_version, nats_redis_platform, percentile
from market_data.domain.synthetic import SyntheticMarket
from market_data.service.pipeline import MarketPipeline
from tests.support.platform import Recorder, start_market_data, start_recorder
from trader_cli.platform import RunningApp
from trader_common.adapters.dapr import DaprEventPublisher, DaprSidecar
from trader_common.contracts import QuoteUpdated

REPO = Path(__file__).resolve().parents[1]
SYMBOLS = [f"B{i:03d}" for i in range(100)]
PUBLISHERS = int(os.environ.get("BENCH_PUBLISHERS", "1"))
"""Concurrent pipelines, each owning a share of the symbols (so per-symbol order holds). One is
market-data's own shape (one pipeline, a request of 100 entries per tick) and the cheapest per
quote; more make more, smaller requests (each costs httpx and daprd a fixed overhead) but let
one pipeline's Python work overlap another's request, and publish a tick in pieces (lower
paced latency: the subscriber starts on the first piece while the next is made)."""
PACED_QUOTES_PER_SECOND = 300
PACED_SECONDS = 10.0
FULL_SECONDS = 20.0
DRAIN_SECONDS = 4.0
PREMADE_TICKS = 400
AIM = 20_000
BROKERS = {"nats": "NATS JetStream", "kafka": "Kafka", "redis": "Redis Streams"}

Ticks = Callable[[], list[QuoteUpdated]]


@dataclass
class Phase:
    name: str
    published: int
    seconds: float
    received: int
    latencies_ms: list[float]
    cpu_us: dict[str, float]
    """CPU microseconds per published quote: this process, market-data's daprd, subscriber."""

    @property
    def rate(self) -> float:
        return self.published / self.seconds if self.seconds else 0.0


def _live_ticks(symbols: list[str]) -> Ticks:
    """Each call: one synthetic tick of quotes, stamped now (the synthetic feed's work)."""
    market = SyntheticMarket(symbols, seed=7, start_price=Decimal(100), step_seconds=0.01)
    return lambda: market.next_quotes(datetime.now(UTC))


def _premade_ticks(symbols: list[str]) -> Ticks:
    """Ticks made in advance; each call re-stamps one with the time and fresh ids (JetStream
    de-duplicates on the id, the sequencer wants time to move forward)."""
    market = SyntheticMarket(symbols, seed=7, start_price=Decimal(100), step_seconds=0.01)
    start = datetime.now(UTC)
    pool = cycle([market.next_quotes(start) for _ in range(PREMADE_TICKS)])

    def tick() -> list[QuoteUpdated]:
        now = datetime.now(UTC)
        return [q.model_copy(update={"ts_event": now, "event_id": uuid4()}) for q in next(pool)]

    return tick


async def _pipeline(
    sidecar_port: int, ticks: Ticks, seconds: float, ticks_per_second: float | None
) -> int:
    """market-data's pipeline and publisher over one shard of symbols for ``seconds``."""
    sidecar = DaprSidecar(sidecar_port, timeout_seconds=30)
    pipeline = MarketPipeline(DaprEventPublisher(sidecar, "pubsub", "/market-data"))
    published = tick = 0
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            if ticks_per_second:
                wait = started + tick / ticks_per_second - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
            tick += 1
            published += await pipeline.process(ticks())
        return published
    finally:
        await sidecar.close()


async def _publish(
    sidecar_port: int, ticks: list[Ticks], seconds: float, quotes_per_second: float | None
) -> tuple[int, float]:
    tick_rate = quotes_per_second / len(SYMBOLS) if quotes_per_second else None
    started = time.perf_counter()
    counts = await asyncio.gather(*(_pipeline(sidecar_port, t, seconds, tick_rate) for t in ticks))
    return sum(counts), time.perf_counter() - started


def _cpu_seconds(pids: list[int | None]) -> float:
    """User + system CPU time of processes (``/proc``; 0 for one that is gone)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _run_phase(
    name: str,
    recorder: Recorder | None,
    market: RunningApp,
    make: Callable[[list[str]], Ticks],
    seconds: float,
    quotes_per_second: float | None = None,
) -> Phase:
    groups: dict[str, list[int | None]] = {
        "daprd": [market.sidecar.pid],
        "subscriber": [recorder.running.app.pid, recorder.running.sidecar.pid] if recorder else [],
    }
    # Made before the clocks start (premade ticks take a while).
    ticks = [make(SYMBOLS[i::PUBLISHERS]) for i in range(PUBLISHERS)]
    cpu_before = {k: _cpu_seconds(v) for k, v in groups.items()}
    own_before = time.process_time()
    before: dict[str, Any] = recorder.stats() if recorder else {"count": 0, "latencies": []}
    published, took = asyncio.run(_publish(market.ports.http, ticks, seconds, quotes_per_second))
    cpu = {"python": time.process_time() - own_before}
    cpu.update({k: _cpu_seconds(v) - cpu_before[k] for k, v in groups.items()})
    after = before
    if recorder:
        deadline = time.monotonic() + DRAIN_SECONDS
        after = recorder.stats()
        while after["count"] - before["count"] < published and time.monotonic() < deadline:
            time.sleep(0.25)
            after = recorder.stats()
    latencies = [1000 * v for v in after["latencies"][len(before["latencies"]) :]]
    per_quote = {k: 1e6 * v / max(published, 1) for k, v in cpu.items()}
    phase = Phase(name, published, took, after["count"] - before["count"], latencies, per_quote)
    got = (
        f"subscriber got {phase.received:7,} ({phase.received / max(phase.published, 1):4.0%}) "
        f"within {DRAIN_SECONDS:.0f} s after; latency p50 {percentile(latencies, 50):8,.1f} ms, "
        f"p99 {percentile(latencies, 99):8,.1f} ms"
        if recorder
        else "no subscriber"
    )
    print(
        f"{phase.name:>13}: {phase.published:7,} quotes in {phase.seconds:4.1f} s = "
        f"{phase.rate:7,.0f} quotes/s published | {got} | CPU µs/quote: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in per_quote.items() if k != "subscriber" or recorder)
        + f" | load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return phase


def run_profile(pubsub: str) -> None:
    with nats_redis_platform("bench-market-data-", pubsub=pubsub) as platform:
        recorder = start_recorder(platform, keep_events=False)
        market = start_market_data(
            platform, {"MARKET_DATA_FEED": "off", "MARKET_DATA_LOG_LEVEL": "WARNING"}
        )
        print(
            f"{BROKERS.get(pubsub, pubsub)}, {len(SYMBOLS)} symbols in {PUBLISHERS} concurrent "
            f"pipelines, daprd {daprd_version(market.sidecar_url)}, trace sampling "
            f"{os.environ.get('TRADER_TRACE_SAMPLING', '1')}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f} (others' work included)",
            flush=True,
        )
        _run_phase("paced", recorder, market, _live_ticks, PACED_SECONDS, PACED_QUOTES_PER_SECOND)
        full = _run_phase("full speed", recorder, market, _live_ticks, FULL_SECONDS)
        bare = _run_phase("publish only", recorder, market, _premade_ticks, FULL_SECONDS / 2)
        recorder.running.sidecar.stop()
        recorder.running.app.stop()
        alone = _run_phase("no subscriber", None, market, _live_ticks, FULL_SECONDS / 2)
        print(
            f"sustained publish rate on {pubsub}, market-data path: {full.rate:,.0f} quotes/s "
            f"({full.rate / AIM:.0%} of the {AIM:,}/s aim) with the subscriber on the same "
            f"cores, {alone.rate:,.0f} quotes/s ({alone.rate / AIM:.0%}) without; with the "
            f"quotes made beforehand: {bare.rate:,.0f} quotes/s ({bare.rate / AIM:.0%}); load "
            f"average {os.getloadavg()[0]:.1f}",
            flush=True,
        )


def main() -> None:
    for pubsub in [p.strip() for p in os.environ.get("PUBSUB", "nats").split(",") if p.strip()]:
        run_profile(pubsub)


if __name__ == "__main__":
    main()
