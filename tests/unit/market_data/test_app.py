"""The composed app with in-process ports: feeds, the read API, /connectors, /readyz."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from market_data.main import create_app
from market_data.settings import MarketDataSettings
from tests.fakes.server import free_port
from trader_common.adapters.inprocess import InMemoryEventBus, InMemoryStateStore
from trader_common.contracts import BarClosed, QuoteUpdated, TradePrinted
from trader_common.settings import SidecarSettings

CSV = (
    "symbol,ts_open,ts_close,open,high,low,close,volume\n"
    + "".join(
        f"TEST,2024-01-{d:02d}T14:30:00Z,2024-01-{d:02d}T21:00:00Z,10,11,9,10.{d},100\n"
        for d in range(2, 12)
    )
    + "BTC/USD,2024-01-02T00:00:00Z,2024-01-03T00:00:00Z,42000,43000,41000,42500.5,12\n"
)


def settings(**overrides: Any) -> MarketDataSettings:
    # A sidecar port nothing listens on: the app must cope without a sidecar.
    base: dict[str, Any] = {"log_json": False, "sidecar": SidecarSettings(http_port=free_port())}
    return MarketDataSettings(**(base | overrides))


async def yield_once(_: float) -> None:
    await asyncio.sleep(0)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def until(predicate: Callable[[], bool], what: str, limit: int = 5000) -> None:
    for _ in range(limit):
        if predicate():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    path = tmp_path / "sample.csv"
    path.write_text(CSV)
    return path


async def test_app_default_synthetic_feed_publishes_quotes_for_every_symbol() -> None:
    bus = InMemoryEventBus()
    app = create_app(
        settings(symbols="AAPL,MSFT,BTC/USD"),
        publisher=bus,
        state=InMemoryStateStore(),
        sleep=yield_once,
    )
    async with running(app) as client:
        await until(
            lambda: (
                {e.symbol for e in bus.published if isinstance(e, QuoteUpdated)}
                == {"AAPL", "MSFT", "BTC/USD"}
            ),
            "a quote for each symbol",
        )
        quote = await client.get("/quotes/BTC/USD/latest")
        feed = (await client.get("/feed")).json()
    assert quote.status_code == 200
    assert quote.json()["served_from"] == "cache"
    assert feed["state"] == "running"
    assert feed["published"] > 0
    assert {type(e) for e in bus.published} >= {QuoteUpdated, TradePrinted}


async def test_app_replay_full_speed_publishes_every_bar_then_serves_ranges(
    replay_file: Path,
) -> None:
    bus = InMemoryEventBus()
    app = create_app(
        settings(feed="replay", replay_path=replay_file, replay_speed=0),
        publisher=bus,
        state=InMemoryStateStore(),
        sleep=yield_once,
    )
    async with running(app) as client:
        await until(lambda: app.state.feed.state == "finished", "the replay to finish")
        first = await client.get(
            "/bars/TEST", params={"timeframe": "1Day", "start": "2024-01-01T00:00:00Z", "limit": 4}
        )
        token = first.json()["next_page_token"]
        second = await client.get(
            "/bars/TEST",
            params={
                "timeframe": "1Day",
                "start": "2024-01-01T00:00:00Z",
                "limit": 4,
                "page_token": token,
            },
        )
        mismatched = await client.get(
            "/bars/TEST",
            params={"timeframe": "1Day", "start": "2024-01-02T00:00:00Z", "page_token": token},
        )
        feed = (await client.get("/feed")).json()
        connectors = (await client.get("/connectors")).json()
    bars = [e for e in bus.published if isinstance(e, BarClosed)]
    assert len(bars) == 11
    assert len([e for e in bus.published if isinstance(e, QuoteUpdated)]) == 11
    assert first.status_code == 200
    assert [b["close"] for b in first.json()["bars"]] == ["10.2", "10.3", "10.4", "10.5"]
    assert second.json()["bars"][0]["close"] == "10.6"
    assert first.json()["end"] is not None
    assert mismatched.status_code == 400
    assert "different query" in mismatched.json()["detail"]
    assert feed["replay"]["finished"] is True
    assert [c["name"] for c in connectors["connectors"]] == ["replay"]


async def test_app_replay_symbols_setting_filters_and_unknown_symbol_fails_at_start(
    replay_file: Path,
) -> None:
    bus = InMemoryEventBus()
    app = create_app(
        settings(feed="replay", replay_path=replay_file, symbols="BTC/USD"),
        publisher=bus,
        state=InMemoryStateStore(),
        sleep=yield_once,
    )
    assert app.state.symbols == ["BTC/USD"]
    with pytest.raises(ValueError, match=r"AAPL are not in the replay data .*BTC/USD, TEST"):
        create_app(
            settings(feed="replay", replay_path=replay_file, symbols="AAPL"),
            publisher=bus,
            state=InMemoryStateStore(),
        )


async def test_app_replay_does_not_serve_bars_beyond_its_cursor(replay_file: Path) -> None:
    app = create_app(
        settings(feed="replay", replay_path=replay_file),
        publisher=InMemoryEventBus(),
        state=InMemoryStateStore(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        # The feed has not started: nothing of the replay's future is visible.
        latest = await client.get("/bars/TEST/latest", params={"timeframe": "1Day"})
    assert latest.status_code == 404


@pytest.mark.parametrize(
    ("path", "params", "status", "mentions"),
    [
        ("/bars/TE%20ST", {"timeframe": "1Day", "start": "2024-01-01T00:00:00Z"}, 400, "symbol"),
        ("/bars/TEST", {"timeframe": "2Day", "start": "2024-01-01T00:00:00Z"}, 422, "timeframe"),
        ("/bars/TEST", {"timeframe": "1Day", "start": "2024-01-01T00:00:00"}, 422, "timezone"),
        (
            "/bars/TEST",
            {"timeframe": "1Day", "start": "2024-02-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
            400,
            "before end",
        ),
        (
            "/bars/TEST",
            {"timeframe": "1Day", "start": "2024-01-01T00:00:00Z", "limit": 0},
            422,
            "limit",
        ),
        (
            "/bars/TEST",
            {"timeframe": "1Day", "start": "2024-01-01T00:00:00Z", "page_token": "garbage"},
            400,
            "page_token",
        ),
        ("/bars/TEST", {"start": "2024-01-01T00:00:00Z"}, 422, "timeframe"),
        ("/quotes/NOPE/latest", {}, 404, "NOPE"),
        ("/bars/TEST/latest", {"timeframe": "1Hour"}, 404, "TEST"),
        ("/news", {"symbols": "TEST"}, 404, "news"),
        ("/assets/TEST", {}, 404, "asset"),
    ],
)
async def test_app_read_api_bad_requests_get_clear_4xx(
    replay_file: Path, path: str, params: dict[str, Any], status: int, mentions: str
) -> None:
    app = create_app(
        settings(feed="replay", replay_path=replay_file),
        publisher=InMemoryEventBus(),
        state=InMemoryStateStore(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(path, params=params)
    assert response.status_code == status, response.text
    assert mentions in response.text


async def test_app_readyz_reports_connectors_and_503_without_a_sidecar() -> None:
    app = create_app(
        settings(feed="synthetic"), publisher=InMemoryEventBus(), state=InMemoryStateStore()
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "not-ready"
    assert body["connectors"] == {"synthetic": "healthy"}
    assert body["degraded"] == []


async def test_app_feed_off_publishes_nothing_and_reads_find_nothing() -> None:
    bus = InMemoryEventBus()
    app = create_app(settings(feed="off"), publisher=bus, state=InMemoryStateStore())
    async with running(app) as client:
        feed = (await client.get("/feed")).json()
        quote = await client.get("/quotes/AAPL/latest")
    assert feed["state"] == "off"
    assert quote.status_code == 404
    assert bus.published == []


async def test_app_synthetic_asset_and_lowercase_symbol() -> None:
    app = create_app(
        settings(symbols="AAPL"), publisher=InMemoryEventBus(), state=InMemoryStateStore()
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/assets/aapl")
    assert response.status_code == 200
    assert response.json()["asset"]["symbol"] == "AAPL"
