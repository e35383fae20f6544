"""The event store's concurrency guarantees hold on the real state stores through daprd."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerPool
from trader_cli.dapr_runtime import SidecarPorts, daprd_command
from trader_cli.netutil import wait_port
from trader_cli.procs import ManagedProcess
from trader_common.adapters.dapr import DaprSidecar, DaprStateStore
from trader_common.contracts import QuoteUpdated
from trader_common.eventstore import EventStore
from trader_common.ports import ConcurrencyConflictError

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["redis", "postgres"])
def state_sidecar(
    request: pytest.FixtureRequest,
    servers: ServerPool,
    dapr_installed: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[int]:
    backend = request.param
    env = {**servers.get("redis").env}
    if backend == "postgres":
        env.update(servers.get("postgres").env)
    ports = SidecarPorts()
    process = ManagedProcess(
        "daprd",
        daprd_command(
            app_id=f"es-{backend}",
            app_port=None,
            ports=ports,
            resources_paths=[REPO / "components" / "state" / backend],
            config=None,
            placement_address=None,
            scheduler_address=None,
            log_level="info",
        ),
        log_file=tmp_path_factory.mktemp("es") / "daprd.log",
        env={**os.environ, **env},
    )
    process.start()
    try:
        wait_port(ports.http, 30, "daprd")
        for _ in range(100):
            if httpx.get(f"http://127.0.0.1:{ports.http}/v1.0/healthz/outbound").status_code < 300:
                break
            time.sleep(0.2)
        yield ports.http
    finally:
        process.stop()


def quote(n: int) -> QuoteUpdated:
    return QuoteUpdated(
        symbol="AAPL",
        source="t",
        ts_event=datetime.now(UTC),
        bid=Decimal(n),
        ask=Decimal(n + 1),
        bid_size=1,
        ask_size=1,
    )


async def test_dapr_event_store_concurrent_appends_exactly_one_wins(state_sidecar: int) -> None:
    sidecar = DaprSidecar(state_sidecar)
    store = EventStore(DaprStateStore(sidecar, "statestore"), "/it")
    stream = f"race-{time.monotonic_ns()}"
    try:
        await store.append(stream, 0, [quote(1)])
        results = await asyncio.gather(
            *(store.append(stream, 1, [quote(10 + i)]) for i in range(5)), return_exceptions=True
        )
        wins = [r for r in results if r == 2]
        losses = [r for r in results if isinstance(r, ConcurrencyConflictError)]
        assert len(wins) == 1, results
        assert len(losses) == 4, results
        assert await store.version(stream) == 2
        loaded = await store.load(stream)
        assert [e.version for e in loaded] == [1, 2]
        winner = next(i for i, r in enumerate(results) if r == 2)
        assert loaded[1].event().bid == Decimal(10 + winner)  # the winner's event, not another
    finally:
        await sidecar.close()


async def test_dapr_event_store_racing_first_appends_exactly_one_wins(state_sidecar: int) -> None:
    sidecar = DaprSidecar(state_sidecar)
    store = EventStore(DaprStateStore(sidecar, "statestore"), "/it", segment_size=4)
    stream = f"first-{time.monotonic_ns()}"
    try:
        racers = [[quote(100 + i)] for i in range(5)]
        results = await asyncio.gather(
            *(store.append(stream, 0, events) for events in racers), return_exceptions=True
        )
        winners = [i for i, r in enumerate(results) if r == 1]
        assert len(winners) == 1, results
        loaded = await store.load(stream)
        assert [e.event() for e in loaded] == racers[winners[0]]
    finally:
        await sidecar.close()


async def test_dapr_event_store_many_appends_roll_segments_and_load_in_order(
    state_sidecar: int,
) -> None:
    sidecar = DaprSidecar(state_sidecar)
    store = EventStore(DaprStateStore(sidecar, "statestore"), "/it", segment_size=4)
    stream = f"segments-{time.monotonic_ns()}"
    try:
        events = [quote(i) for i in range(1, 12)]
        version = 0
        for start in range(0, len(events), 3):
            version = await store.append(stream, version, events[start : start + 3])
        assert version == 11
        loaded = await store.load(stream)
        assert [e.version for e in loaded] == list(range(1, 12))
        assert [e.event() for e in loaded] == events
        assert [e.version for e in await store.load(stream, after_version=9)] == [10, 11]
    finally:
        await sidecar.close()


async def test_dapr_state_must_be_new_refuses_existing_key(state_sidecar: int) -> None:
    sidecar = DaprSidecar(state_sidecar)
    state = DaprStateStore(sidecar, "statestore")
    key = f"new-{time.monotonic_ns()}"
    try:
        await state.save(key, {"a": 1}, must_be_new=True)
        with pytest.raises(ConcurrencyConflictError):
            await state.save(key, {"a": 2}, must_be_new=True)
        item = await state.get(key)
        assert item is not None
        assert item.value == {"a": 1}
    finally:
        await sidecar.close()


async def test_dapr_state_any_json_text_round_trips_unchanged(state_sidecar: int) -> None:
    # Dead letters keep what a sender sent: NUL, control characters, emoji and the JS line
    # separators must come back as they went in, whichever backend holds them.
    sidecar = DaprSidecar(state_sidecar)
    state = DaprStateStore(sidecar, "statestore")
    key = f"text-{time.monotonic_ns()}"
    value = {"payload": 'a\x00b\x01\x1f é 📈 \u2028\u2029 \\ "q"', "nested": [{"\x00": None}]}
    try:
        await state.save(key, value)
        item = await state.get(key)
        assert item is not None
        assert item.value == value
    finally:
        await sidecar.close()
