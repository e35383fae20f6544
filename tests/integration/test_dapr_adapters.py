"""The Dapr adapters of trader_common against a real daprd and a real Redis."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from trader_cli.dapr_runtime import SidecarPorts, daprd_command
from trader_cli.netutil import wait_port
from trader_cli.procs import ManagedProcess
from trader_common.adapters.dapr import DaprEventPublisher, DaprSidecar, DaprStateStore
from trader_common.contracts import QuoteUpdated
from trader_common.ports import ConcurrencyConflictError, PlatformUnavailableError

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sidecar_port(
    servers: object, dapr_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """A daprd with no app: Redis state and Redis Streams pub/sub."""
    env = {**servers.get("redis").env}  # type: ignore[attr-defined]
    ports = SidecarPorts()
    folder = tmp_path_factory.mktemp("sidecar")
    process = ManagedProcess(
        "daprd",
        daprd_command(
            app_id="adapter-test",
            app_port=None,
            ports=ports,
            resources_paths=[
                REPO / "components" / "state" / "redis",
                REPO / "components" / "pubsub" / "redis",
            ],
            config=None,
            placement_address=None,
            scheduler_address=None,
            log_level="info",
        ),
        log_file=folder / "daprd.log",
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


async def test_dapr_state_stale_etag_write_is_refused(sidecar_port: int) -> None:
    sidecar = DaprSidecar(sidecar_port)
    store = DaprStateStore(sidecar, "statestore")
    try:
        await store.save("etag-test", {"n": 1})
        first = await store.get("etag-test")
        assert first is not None and first.etag
        await store.save("etag-test", {"n": 2}, etag=first.etag)
        with pytest.raises(ConcurrencyConflictError):
            await store.save("etag-test", {"n": 3}, etag=first.etag)
        current = await store.get("etag-test")
        assert current is not None and current.value == {"n": 2}
        await store.delete("etag-test")
        assert await store.get("etag-test") is None
    finally:
        await sidecar.close()


async def test_dapr_state_item_with_ttl_expires(sidecar_port: int) -> None:
    sidecar = DaprSidecar(sidecar_port)
    store = DaprStateStore(sidecar, "statestore")
    try:
        await store.save("ttl-test", {"bid": "1.00"}, ttl_seconds=1)
        assert await store.get("ttl-test") is not None
        for _ in range(50):
            await asyncio.sleep(0.1)
            if await store.get("ttl-test") is None:
                break
        assert await store.get("ttl-test") is None
    finally:
        await sidecar.close()


async def test_dapr_publisher_bulk_and_single_publish_are_accepted(sidecar_port: int) -> None:
    sidecar = DaprSidecar(sidecar_port)
    publisher = DaprEventPublisher(sidecar, "pubsub", "/adapter-test")
    now = datetime.now(UTC)
    quotes = [
        QuoteUpdated(symbol=s, source="t", ts_event=now, bid=1, ask=2, bid_size=1, ask_size=1)
        for s in ("A", "B", "C")
    ]
    try:
        await publisher.publish(quotes[0])
        await publisher.publish_many(quotes)
    finally:
        await sidecar.close()


async def test_dapr_unknown_component_gives_a_clear_error(sidecar_port: int) -> None:
    sidecar = DaprSidecar(sidecar_port)
    try:
        with pytest.raises(PlatformUnavailableError, match="could not read state 'k' from nope"):
            await DaprStateStore(sidecar, "nope").get("k")
    finally:
        await sidecar.close()


async def test_dapr_sidecar_down_is_reported_not_raised_by_health() -> None:
    from trader_cli.netutil import free_port

    sidecar = DaprSidecar(free_port())
    try:
        health = await sidecar.health(["pubsub"])
        assert not health.healthy
        assert "unreachable" in health.detail
        with pytest.raises(PlatformUnavailableError, match="unreachable"):
            await DaprStateStore(sidecar, "statestore").get("k")
    finally:
        await sidecar.close()


async def test_dapr_sidecar_health_reports_missing_components(sidecar_port: int) -> None:
    sidecar = DaprSidecar(sidecar_port)
    try:
        health = await sidecar.health(["statestore", "secretstore"])
        assert not health.healthy
        assert health.detail == "sidecar lacks components: secretstore"
        assert "statestore" in health.components
    finally:
        await sidecar.close()
