"""Fixtures: each provider fake served on a free loopback port for the test, then stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.alpaca_data import FakeAlpacaData
from tests.fakes.alpaca_stream import FakeAlpacaStream
from tests.fakes.clock import FakeTime
from tests.fakes.coingecko_api import FakeCoinGecko
from tests.fakes.finnhub_api import FakeFinnhub
from tests.fakes.server import serve

ALPACA_KEY = "AKTESTKEY0000000001"
ALPACA_SECRET = "alpaca-secret-value-do-not-log"
FINNHUB_TOKEN = "finnhub-token-do-not-log"
COINGECKO_KEY = "CG-demo-key-do-not-log"


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def alpaca() -> Iterator[FakeAlpacaData]:
    fake = FakeAlpacaData(key=ALPACA_KEY, secret=ALPACA_SECRET)
    with serve(fake.app) as url:
        fake.base_url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def alpaca_stream() -> Iterator[FakeAlpacaStream]:
    fake = FakeAlpacaStream(key=ALPACA_KEY, secret=ALPACA_SECRET)
    with fake.running() as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def finnhub() -> Iterator[FakeFinnhub]:
    fake = FakeFinnhub(token=FINNHUB_TOKEN)
    with serve(fake.app) as url:
        fake.base_url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def coingecko() -> Iterator[FakeCoinGecko]:
    fake = FakeCoinGecko(key=COINGECKO_KEY)
    with serve(fake.app) as url:
        fake.base_url = url  # type: ignore[attr-defined]
        yield fake
