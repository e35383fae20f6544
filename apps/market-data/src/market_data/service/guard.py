"""The guard around every connector: its own circuit breaker, a call timeout, health state and
a ``ConnectorHealthChanged`` event on system.events whenever that state changes.

One guard per connector, so one provider failing never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from trader_common.contracts import (
    BarClosed,
    ConnectorHealth,
    ConnectorHealthChanged,
    Event,
    QuoteUpdated,
)
from trader_common.ports import EventPublisher, PlatformUnavailableError

from ..domain.breaker import CircuitBreaker
from ..domain.models import AssetInfo, Capability, NewsItem
from ..domain.timeframes import Timeframe
from .ports import (
    CircuitOpenError,
    Clock,
    ConnectorError,
    MarketDataConnector,
    Monotonic,
    ProviderUnavailableError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    name: str
    health: ConnectorHealth
    breaker: str
    consecutive_failures: int
    last_error: str | None
    last_success: datetime | None
    last_failure: datetime | None
    retry_in_seconds: float
    capabilities: tuple[str, ...]
    calls: int
    failures: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "health": str(self.health),
            "breaker": self.breaker,
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_failure": self.last_failure.isoformat() if self.last_failure else None,
            "retry_in_seconds": round(self.retry_in_seconds, 3),
            "capabilities": list(self.capabilities),
            "calls": self.calls,
            "failures": self.failures,
        }


class HealthEvents:
    """Publishes ``ConnectorHealthChanged``; a publish failure is logged, never raised."""

    def __init__(self, publisher: EventPublisher, service: str, clock: Clock) -> None:
        self._publisher = publisher
        self._service = service
        self._clock = clock
        self.published: int = 0

    async def changed(
        self, connector: str, previous: ConnectorHealth, current: ConnectorHealth, detail: str
    ) -> None:
        event = ConnectorHealthChanged(
            service=self._service,
            connector=connector,
            previous=previous,
            current=current,
            detail=detail[:500],
            ts_event=self._clock(),
        )
        log.warning(
            "connector health changed",
            extra={
                "connector": connector,
                "previous": str(previous),
                "current": str(current),
                "detail": detail,
            },
        )
        try:
            await self._publisher.publish(event)
            self.published += 1
        except PlatformUnavailableError as exc:
            log.warning("could not publish connector health change", extra={"reason": str(exc)})


class GuardedConnector:
    """A ``MarketDataConnector`` wrapped in its breaker; itself a ``MarketDataConnector``."""

    def __init__(
        self,
        inner: MarketDataConnector,
        breaker: CircuitBreaker,
        events: HealthEvents,
        *,
        monotonic: Monotonic,
        clock: Clock,
        call_timeout: float = 30.0,
    ) -> None:
        self.inner = inner
        self.breaker = breaker
        self._events = events
        self._monotonic = monotonic
        self._clock = clock
        self._timeout = call_timeout
        self._health = breaker.health
        self._last_success: datetime | None = None
        self._last_failure: datetime | None = None
        self._calls = 0
        self._failures = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.inner.capabilities

    @property
    def health(self) -> ConnectorHealth:
        return self.breaker.health

    def status(self) -> ConnectorStatus:
        return ConnectorStatus(
            name=self.name,
            health=self.breaker.health,
            breaker=str(self.breaker.state),
            consecutive_failures=self.breaker.consecutive_failures,
            last_error=self.breaker.last_error,
            last_success=self._last_success,
            last_failure=self._last_failure,
            retry_in_seconds=self.breaker.retry_in(self._monotonic()),
            capabilities=tuple(sorted(str(c) for c in self.capabilities)),
            calls=self._calls,
            failures=self._failures,
        )

    # --- the guarded call -----------------------------------------------------------------

    def _admit(self) -> None:
        now = self._monotonic()
        if not self.breaker.allow(now):
            raise CircuitOpenError(
                self.name,
                f"circuit open after {self.breaker.consecutive_failures} failures "
                f"(last: {self.breaker.last_error}); next try in "
                f"{self.breaker.retry_in(now):.1f}s",
            )
        self._calls += 1

    async def _succeeded(self) -> None:
        self._last_success = self._clock()
        self.breaker.record_success()
        await self._publish_if_changed("ok")

    async def _failed(self, exc: BaseException) -> None:
        detail = str(exc) if isinstance(exc, ConnectorError) else f"{self.name}: {exc!r}"
        if isinstance(exc, ConnectorError) and not exc.counts_as_failure:
            self.breaker.record_neutral()
            return
        self._failures += 1
        self._last_failure = self._clock()
        self.breaker.record_failure(self._monotonic(), detail)
        await self._publish_if_changed(detail)

    async def _publish_if_changed(self, detail: str) -> None:
        current = self.breaker.health
        if current != self._health:
            previous, self._health = self._health, current
            await self._events.changed(self.name, previous, current, detail)

    async def _guard(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        self._admit()
        try:
            result = await asyncio.wait_for(call(), self._timeout)
        except TimeoutError:
            error = ProviderUnavailableError(
                self.name, f"{operation} timed out after {self._timeout:g}s"
            )
            await self._failed(error)
            raise error from None
        except ConnectorError as exc:
            await self._failed(exc)
            raise
        except Exception as exc:
            # An adapter bug or an unexpected SDK error: count it, report it, keep serving.
            log.exception("connector call failed unexpectedly", extra={"connector": self.name})
            error = ProviderUnavailableError(
                self.name, f"{operation} failed: {type(exc).__name__}: {exc}"
            )
            await self._failed(error)
            raise error from exc
        await self._succeeded()
        return result

    # --- the interface ----------------------------------------------------------------------

    async def latest_quotes(self, symbols: Sequence[str]) -> list[QuoteUpdated]:
        return await self._guard("latest quotes", lambda: self.inner.latest_quotes(symbols))

    async def latest_bar(self, symbol: str, timeframe: Timeframe) -> BarClosed | None:
        return await self._guard("latest bar", lambda: self.inner.latest_bar(symbol, timeframe))

    async def bars(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: datetime,
        end: datetime,
        limit: int | None = None,
    ) -> list[BarClosed]:
        return await self._guard(
            "bars", lambda: self.inner.bars(symbol, timeframe, start, end, limit)
        )

    async def assets(self, symbols: Sequence[str]) -> list[AssetInfo]:
        return await self._guard("assets", lambda: self.inner.assets(symbols))

    async def news(
        self, symbols: Sequence[str], start: datetime, end: datetime, limit: int = 50
    ) -> list[NewsItem]:
        return await self._guard("news", lambda: self.inner.news(symbols, start, end, limit))

    async def stream(self, symbols: Sequence[str]) -> AsyncIterator[list[Event]]:
        """The inner stream; each batch counts as a success, an error as a failure."""
        self._admit()
        settled = False
        try:
            async for batch in self.inner.stream(symbols):
                settled = True
                await self._succeeded()
                yield batch
        except ConnectorError as exc:
            settled = True
            await self._failed(exc)
            raise
        except Exception as exc:
            settled = True
            log.exception("connector stream failed unexpectedly", extra={"connector": self.name})
            error = ProviderUnavailableError(
                self.name, f"stream failed: {type(exc).__name__}: {exc}"
            )
            await self._failed(error)
            raise error from exc
        finally:
            if not settled:
                self.breaker.record_neutral()

    async def aclose(self) -> None:
        await self.inner.aclose()
