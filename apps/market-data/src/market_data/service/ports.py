"""Ports of the market data service, and the errors connectors raise through them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import ClassVar, Protocol

from trader_common.contracts import BarClosed, Event, QuoteUpdated

from ..domain.models import AssetInfo, Capability, NewsItem
from ..domain.timeframes import Timeframe

Clock = Callable[[], datetime]
"""Wall-clock time, timezone-aware UTC."""
Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


# --- connector errors -------------------------------------------------------------------------


class ConnectorError(Exception):
    """A connector call failed. ``counts_as_failure`` says whether it is evidence that the
    provider is unhealthy (and so feeds its circuit breaker)."""

    counts_as_failure: ClassVar[bool] = True

    def __init__(self, connector: str, detail: str) -> None:
        super().__init__(f"{connector}: {detail}")
        self.connector = connector
        self.detail = detail


class ProviderUnavailableError(ConnectorError):
    """Network failure, timeout or a 5xx answer."""


class RateLimitedError(ProviderUnavailableError):
    """Still answered 429 after the retries the limiter allows."""

    def __init__(self, connector: str, detail: str, retry_after: float | None) -> None:
        super().__init__(connector, detail)
        self.retry_after = retry_after


class ProviderAuthError(ConnectorError):
    """The provider refused the credentials (401), or there are none to send."""


class MalformedResponseError(ConnectorError):
    """The provider answered, but not in its documented shape. Nothing from it is published."""


class CircuitOpenError(ProviderUnavailableError):
    """The connector's breaker is open: the call was not attempted."""

    counts_as_failure: ClassVar[bool] = False


class ProviderRequestError(ConnectorError):
    """The provider rejected this particular request (bad symbol, range, or a plan that does
    not include the endpoint). Says nothing about the provider's health."""

    counts_as_failure: ClassVar[bool] = False


class NotSupportedError(ProviderRequestError):
    """The connector does not offer this (e.g. a stream from a REST-only provider)."""


# --- the connector interface ------------------------------------------------------------------


class MarketDataConnector(Protocol):
    """One provider (or offline source) behind one interface.

    Every method returns contract events or domain values, already normalised (UTC, Decimal);
    records that fail normalisation are rejected and logged by the connector, never returned.
    Ranges are half-open: bars whose *open* time is in [start, end).
    """

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    async def latest_quotes(self, symbols: Sequence[str]) -> list[QuoteUpdated]:
        """The latest quote of each symbol the provider knows (unknown symbols are left out)."""
        ...

    async def latest_bar(self, symbol: str, timeframe: Timeframe) -> BarClosed | None: ...

    async def bars(
        self,
        symbol: str,
        timeframe: Timeframe,
        start: datetime,
        end: datetime,
        limit: int | None = None,
    ) -> list[BarClosed]:
        """Closed bars opening in [start, end), oldest first, at most ``limit``."""
        ...

    def stream(self, symbols: Sequence[str]) -> AsyncIterator[list[Event]]:
        """Live events in batches, until cancelled. ``NotSupportedError`` without a stream."""
        ...

    async def assets(self, symbols: Sequence[str]) -> list[AssetInfo]: ...

    async def news(
        self, symbols: Sequence[str], start: datetime, end: datetime, limit: int = 50
    ) -> list[NewsItem]: ...

    async def aclose(self) -> None: ...


class CredentialsMissingError(ProviderAuthError):
    """The secret store has no credentials for this connector (it stays down until it has)."""
