"""The connector guard: breaker, timeouts, health state and health events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from market_data.domain.breaker import CircuitBreaker
from market_data.service.guard import GuardedConnector, HealthEvents
from market_data.service.ports import (
    CircuitOpenError,
    NotSupportedError,
    ProviderRequestError,
    ProviderUnavailableError,
)
from tests.fakes.clock import FakeTime
from tests.fakes.scripted_connector import ScriptedConnector
from trader_common.adapters.inprocess import InMemoryEventBus
from trader_common.contracts import ConnectorHealth, ConnectorHealthChanged, QuoteUpdated
from trader_common.ports import PlatformUnavailableError

QUOTE = QuoteUpdated(
    symbol="AAPL",
    source="scripted",
    ts_event=datetime(2024, 1, 2, tzinfo=UTC),
    bid=Decimal(1),
    ask=Decimal(2),
    bid_size=Decimal(1),
    ask_size=Decimal(1),
)


def build(
    threshold: int = 2, timeout: float = 5.0
) -> tuple[GuardedConnector, ScriptedConnector, InMemoryEventBus, FakeTime]:
    clock = FakeTime()
    bus = InMemoryEventBus()
    inner = ScriptedConnector("prov", quotes=[QUOTE])
    guard = GuardedConnector(
        inner,
        CircuitBreaker(threshold, cooldown_seconds=30),
        HealthEvents(bus, "market-data", clock.now),
        monotonic=clock.monotonic,
        clock=clock.now,
        call_timeout=timeout,
    )
    return guard, inner, bus, clock


def health_changes(bus: InMemoryEventBus) -> list[tuple[str, str]]:
    return [
        (str(e.previous), str(e.current))
        for e in bus.published
        if isinstance(e, ConnectorHealthChanged)
    ]


async def test_guard_failures_degrade_then_open_and_publish_each_change() -> None:
    guard, inner, bus, _ = build(threshold=2)
    inner.errors = [
        ProviderUnavailableError("prov", "HTTP 503"),
        ProviderUnavailableError("prov", "HTTP 503"),
    ]
    for _ in range(2):
        with pytest.raises(ProviderUnavailableError):
            await guard.latest_quotes(["AAPL"])
    assert guard.health is ConnectorHealth.DOWN
    assert health_changes(bus) == [("healthy", "degraded"), ("degraded", "down")]
    event = bus.published[-1]
    assert isinstance(event, ConnectorHealthChanged)
    assert (event.service, event.connector) == ("market-data", "prov")
    assert "HTTP 503" in event.detail


async def test_guard_open_circuit_fails_fast_without_calling_the_provider() -> None:
    guard, inner, _, _ = build(threshold=1)
    inner.errors = [ProviderUnavailableError("prov", "down")]
    with pytest.raises(ProviderUnavailableError):
        await guard.latest_quotes(["AAPL"])
    calls = len(inner.calls)
    with pytest.raises(CircuitOpenError, match="circuit open"):
        await guard.latest_quotes(["AAPL"])
    assert len(inner.calls) == calls


async def test_guard_recovers_after_cooldown_and_reports_healthy() -> None:
    guard, inner, bus, clock = build(threshold=1)
    inner.errors = [ProviderUnavailableError("prov", "down")]
    with pytest.raises(ProviderUnavailableError):
        await guard.latest_quotes(["AAPL"])
    clock.advance(30)
    assert await guard.latest_quotes(["AAPL"]) == [QUOTE]
    assert guard.health is ConnectorHealth.HEALTHY
    assert health_changes(bus)[-1] == ("down", "healthy")
    status = guard.status()
    assert status.last_success == clock.now()
    assert status.failures == 1


async def test_guard_request_errors_do_not_count_against_the_provider() -> None:
    guard, inner, bus, _ = build(threshold=1)
    inner.errors = [ProviderRequestError("prov", "HTTP 403 plan"), NotSupportedError("prov", "no")]
    for _ in range(2):
        with pytest.raises(ProviderRequestError):
            await guard.latest_quotes(["AAPL"])
    assert guard.health is ConnectorHealth.HEALTHY
    assert health_changes(bus) == []


async def test_guard_timeout_counts_as_a_failure() -> None:
    guard, inner, _, _ = build(threshold=1, timeout=0.01)

    async def hang(symbols: object) -> list[QuoteUpdated]:
        await asyncio.Event().wait()
        return []

    inner.latest_quotes = hang  # type: ignore[method-assign]
    with pytest.raises(ProviderUnavailableError, match="timed out"):
        await guard.latest_quotes(["AAPL"])
    assert guard.health is ConnectorHealth.DOWN


async def test_guard_unexpected_exception_is_contained_and_counted() -> None:
    guard, inner, _, _ = build(threshold=1)
    inner.errors = [KeyError("surprise")]
    with pytest.raises(ProviderUnavailableError, match="KeyError"):
        await guard.latest_quotes(["AAPL"])
    assert guard.health is ConnectorHealth.DOWN


async def test_guard_health_event_publish_failure_is_not_raised() -> None:
    guard, inner, bus, _ = build(threshold=1)

    async def broken(event: object) -> None:
        raise PlatformUnavailableError("sidecar down")

    bus.publish = broken  # type: ignore[method-assign]
    inner.errors = [ProviderUnavailableError("prov", "down")]
    with pytest.raises(ProviderUnavailableError):
        await guard.latest_quotes(["AAPL"])
    assert guard.health is ConnectorHealth.DOWN


async def test_guard_stream_batches_count_as_success() -> None:
    guard, _, _, _ = build()
    batches = [batch async for batch in guard.stream(["AAPL"])]
    assert batches == [[QUOTE]]
    assert guard.status().last_success is not None
