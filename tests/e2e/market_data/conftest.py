"""Provider fakes (of the external APIs only) on free loopback ports for the market-data app
running in its own process with its real daprd; the keys they accept are put in the test's
copy of the local-file secret store (``platform_factory(..., secrets=SECRETS)``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import pytest

from tests.fakes.alpaca_data import FakeAlpacaData
from tests.fakes.alpaca_stream import FakeAlpacaStream
from tests.fakes.coingecko_api import FakeCoinGecko
from tests.fakes.finnhub_api import FakeFinnhub
from tests.fakes.server import serve

ALPACA_KEY = "AKTESTKEY0000000001"
ALPACA_SECRET = "alpaca-secret-value-do-not-log"
FINNHUB_TOKEN = "finnhub-token-do-not-log"
COINGECKO_KEY = "CG-demo-key-do-not-log"
SECRETS = {
    "alpaca": {"api-key": ALPACA_KEY, "secret-key": ALPACA_SECRET},
    "finnhub": {"api-key": FINNHUB_TOKEN},
    "coingecko": {"api-key": COINGECKO_KEY},
}

F = TypeVar("F")


@dataclass
class Served(Generic[F]):
    fake: F
    url: str


@pytest.fixture
def finnhub() -> Iterator[Served[FakeFinnhub]]:
    fake = FakeFinnhub(token=FINNHUB_TOKEN)
    with serve(fake.app) as url:
        yield Served(fake, url)


@pytest.fixture
def coingecko() -> Iterator[Served[FakeCoinGecko]]:
    fake = FakeCoinGecko(key=COINGECKO_KEY)
    with serve(fake.app) as url:
        yield Served(fake, url)


@pytest.fixture
def alpaca() -> Iterator[Served[FakeAlpacaData]]:
    fake = FakeAlpacaData(key=ALPACA_KEY, secret=ALPACA_SECRET)
    with serve(fake.app) as url:
        yield Served(fake, url)


@pytest.fixture
def alpaca_stream() -> Iterator[Served[FakeAlpacaStream]]:
    fake = FakeAlpacaStream(key=ALPACA_KEY, secret=ALPACA_SECRET)
    with fake.running() as url:
        yield Served(fake, url)
