"""system.events: operational facts, keyed by the service (or strategy) they concern."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from .base import Contract, Event, Topic


class TradingState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class ConnectorHealth(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


class _SystemEvent(Event):
    topic: ClassVar[Topic] = Topic.SYSTEM
    partition_field: ClassVar[str] = "service"

    service: str = Field(min_length=1, max_length=64)


class ServiceStarted(_SystemEvent):
    """A service finished starting and is ready."""

    event_name: ClassVar[str] = "system.service-started"

    service_version: str = Field(min_length=1)


class TradingStateChanged(_SystemEvent):
    """Trading moved between active, reducing and halted."""

    event_name: ClassVar[str] = "system.trading-state-changed"

    scope: str = Field(min_length=1, description="'global' or a strategy id")
    previous: TradingState
    current: TradingState
    reason: str = Field(min_length=1)


class ConnectorHealthChanged(_SystemEvent):
    """A market-data (or broker) connector changed health."""

    event_name: ClassVar[str] = "system.connector-health-changed"

    connector: str = Field(min_length=1)
    previous: ConnectorHealth
    current: ConnectorHealth
    detail: str = ""


class OperationalState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    HALTED = "halted"


class OperationalStateChanged(_SystemEvent):
    """An operator (or the kill switch) ran, paused or halted trading, globally or for one
    strategy."""

    event_name: ClassVar[str] = "system.operational-state-changed"

    scope: str = Field(min_length=1, description="'global' or a strategy id")
    previous: OperationalState
    current: OperationalState
    reason: str = Field(min_length=1)


class PositionDifference(Contract):
    """One symbol the engine and the broker hold differently (negative is short)."""

    symbol: str = Field(min_length=1, max_length=32)
    engine_qty: Decimal
    broker_qty: Decimal


class BrokerPositionsDiverged(_SystemEvent):
    """The positions the engine keeps and the ones the broker reports differed on two checks
    in a row. Causes include orders placed at the broker outside the engine, or positions the
    account held before. It is published again whenever the differences change."""

    event_name: ClassVar[str] = "system.broker-positions-diverged"

    broker: str = Field(min_length=1)
    differences: tuple[PositionDifference, ...] = Field(min_length=1)


class BrokerPositionsRealigned(_SystemEvent):
    """The engine's positions and the broker's agree again after a divergence."""

    event_name: ClassVar[str] = "system.broker-positions-realigned"

    broker: str = Field(min_length=1)
