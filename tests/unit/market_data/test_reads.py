"""The read side: cache first, provider fallback, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from market_data.domain.models import Capability
from market_data.domain.paging import BarQuery, InvalidPageTokenError
from market_data.service.cache import MarketCache
from market_data.service.ports import NotSupportedError, ProviderUnavailableError
from market_data.service.reads import MarketReads, ReadNotFoundError, ReadUnavailableError
from tests.fakes.scripted_connector import ScriptedConnector
from trader_common.adapters.inprocess import InMemoryStateStore
from trader_common.contracts import BarClosed, QuoteUpdated

T0 = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)


def quote(symbol: str = "AAPL", bid: str = "1") -> QuoteUpdated:
    return QuoteUpdated(
        symbol=symbol,
        source="p",
        ts_event=T0,
        bid=Decimal(bid),
        ask=Decimal(bid) + 1,
        bid_size=Decimal(1),
        ask_size=Decimal(1),
    )


def bar(minute: int) -> BarClosed:
    opens = T0 + timedelta(minutes=minute)
    return BarClosed(
        symbol="AAPL",
        source="p",
        timeframe="1Min",
        ts_open=opens,
        ts_event=opens + timedelta(minutes=1),
        open=Decimal(1),
        high=Decimal(1),
        low=Decimal(1),
        close=Decimal(1),
        volume=Decimal(minute),
    )


def reads(*connectors: ScriptedConnector) -> tuple[MarketReads, MarketCache]:
    cache = MarketCache(InMemoryStateStore())
    return MarketReads(cache, list(connectors)), cache


async def test_latest_quote_served_from_cache_without_asking_providers() -> None:
    provider = ScriptedConnector(quotes=[quote(bid="9")])
    service, cache = reads(provider)
    await cache.put(quote(bid="5"))
    served = await service.latest_quote("AAPL")
    assert (served.served_from, served.value.bid) == ("cache", Decimal(5))
    assert provider.calls == []


async def test_latest_quote_miss_falls_back_to_provider_and_caches_it() -> None:
    provider = ScriptedConnector("alpaca", quotes=[quote(bid="9")])
    service, cache = reads(provider)
    served = await service.latest_quote("AAPL")
    assert served.served_from == "alpaca"
    assert (await cache.quote("AAPL")) is not None


async def test_latest_quote_failing_provider_is_skipped_for_the_next() -> None:
    first = ScriptedConnector("alpaca", quotes=[quote()])
    first.errors = [ProviderUnavailableError("alpaca", "HTTP 503")]
    second = ScriptedConnector("finnhub", quotes=[quote(bid="3")])
    service, _ = reads(first, second)
    assert (await service.latest_quote("AAPL")).served_from == "finnhub"


async def test_latest_quote_every_provider_failing_is_unavailable_with_reasons() -> None:
    first = ScriptedConnector("alpaca")
    first.errors = [ProviderUnavailableError("alpaca", "HTTP 503")]
    service, _ = reads(first, ScriptedConnector("off", capabilities=frozenset()))
    with pytest.raises(ReadUnavailableError) as caught:
        await service.latest_quote("AAPL")
    assert caught.value.reasons == ["alpaca: HTTP 503"]


async def test_latest_quote_nobody_has_it_is_not_found() -> None:
    unsupported = ScriptedConnector("x")
    unsupported.errors = [NotSupportedError("x", "no")]
    service, _ = reads(unsupported, ScriptedConnector("y"))
    with pytest.raises(ReadNotFoundError):
        await service.latest_quote("AAPL")


async def test_latest_bar_from_provider_when_cache_is_empty() -> None:
    service, _ = reads(ScriptedConnector(bars=[bar(0), bar(1)]))
    assert (await service.latest_bar("AAPL", "1Min")).value.ts_open == T0 + timedelta(minutes=1)


async def test_bars_pages_follow_tokens_to_the_end_without_gaps_or_repeats() -> None:
    provider = ScriptedConnector(bars=[bar(m) for m in range(7)])
    service, _ = reads(provider)
    query = BarQuery("AAPL", "1Min", T0, T0 + timedelta(hours=1))
    seen, token, pages = [], None, 0
    while True:
        page = await service.bars_page(query, limit=3, page_token=token)
        pages += 1
        seen.extend(b.ts_open for b in page.bars)
        token = page.next_page_token
        if token is None:
            break
    assert seen == [T0 + timedelta(minutes=m) for m in range(7)]
    assert pages == 3


async def test_bars_exact_multiple_has_no_empty_last_page() -> None:
    service, _ = reads(ScriptedConnector(bars=[bar(m) for m in range(3)]))
    page = await service.bars_page(BarQuery("AAPL", "1Min", T0, T0 + timedelta(hours=1)), limit=3)
    assert page.next_page_token is None


async def test_bars_empty_range_is_an_empty_page() -> None:
    service, _ = reads(ScriptedConnector(bars=[bar(0)]))
    query = BarQuery("AAPL", "1Min", T0 + timedelta(hours=2), T0 + timedelta(hours=3))
    page = await service.bars_page(query, limit=10)
    assert (page.bars, page.next_page_token) == ([], None)


async def test_bars_bad_range_limit_and_token_are_refused() -> None:
    service, _ = reads(ScriptedConnector())
    with pytest.raises(ValueError, match="before end"):
        await service.bars_page(BarQuery("AAPL", "1Min", T0, T0), limit=1)
    with pytest.raises(ValueError, match="limit"):
        await service.bars_page(BarQuery("AAPL", "1Min", T0, T0 + timedelta(1)), limit=0)
    with pytest.raises(InvalidPageTokenError):
        await service.bars_page(
            BarQuery("AAPL", "1Min", T0, T0 + timedelta(1)), limit=1, page_token="zzz"
        )


async def test_bars_connector_without_bars_capability_is_not_asked() -> None:
    no_bars = ScriptedConnector("q", capabilities=frozenset({Capability.QUOTES}))
    service, _ = reads(no_bars, ScriptedConnector("b", bars=[bar(0)]))
    page = await service.bars_page(BarQuery("AAPL", "1Min", T0, T0 + timedelta(1)), limit=5)
    assert page.served_from == "b"
    assert no_bars.calls == []
