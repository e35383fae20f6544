"""The replay "must show": a subscriber receives every bar of a known file exactly once and in
order per symbol, on each pub/sub profile — market-data and a recording subscriber, each with
its real daprd, on the real broker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support.platform import eventually, start_market_data, start_recorder
from trader_cli.runfile import Profile

pytestmark = pytest.mark.e2e

BARS_PER_SYMBOL = 50
T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
BAR_TYPE = "ai.active-trader.market.bar.v1"
QUOTE_TYPE = "ai.active-trader.market.quote.v1"


def write_known_file(path: Path, symbols: list[str]) -> dict[str, list[tuple[str, Decimal]]]:
    """Two symbols' 1Min bars, rows interleaved by time; returns each symbol's expected
    (ts_open, close) in order."""
    expected: dict[str, list[tuple[str, Decimal]]] = {s: [] for s in symbols}
    lines = ["timestamp,symbol,open,high,low,close,volume,timeframe"]
    for i in range(BARS_PER_SYMBOL):
        opens = T0 + timedelta(minutes=i)
        for n, symbol in enumerate(symbols):
            base = Decimal(100 + 50 * n) + Decimal(i) / 100
            close = base + Decimal("0.05")
            lines.append(
                f"{opens.isoformat()},{symbol},{base},{close + Decimal('0.10')},"
                f"{base - Decimal('0.10')},{close},{1000 + i},1Min"
            )
            expected[symbol].append((opens.isoformat(), close))
    path.write_text("\n".join(lines) + "\n")
    return expected


def ts(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(UTC).isoformat()


@pytest.mark.parametrize("pubsub", ["nats", "kafka", "redis"])
def test_replay_known_file_each_bar_reaches_subscriber_exactly_once_in_order(
    platform_factory: Callable[..., Any], tmp_path: Path, pubsub: str
) -> None:
    tag = uuid4().hex[:6].upper()
    symbols = [f"RP{tag}A", f"RP{tag}B"]
    expected = write_known_file(tmp_path / "known.csv", symbols)
    platform = platform_factory([], profile=Profile(pubsub=pubsub, state="redis"))
    recorder = start_recorder(platform)
    market = start_market_data(
        platform,
        {
            "MARKET_DATA_FEED": "replay",
            "MARKET_DATA_REPLAY_PATH": str(tmp_path / "known.csv"),
            "MARKET_DATA_REPLAY_SPEED": "0",
        },
    )

    def ours(kind: str) -> list[dict[str, Any]]:
        return [
            e
            for e in recorder.received("market.events")
            if e["type"] == kind and e["data"]["symbol"] in symbols
        ]

    feed = eventually(
        lambda: (r := httpx.get(f"{market.url}/feed")).json()["state"] == "finished" and r.json(),
        what="the replay to finish",
    )
    # Everything published has arrived (each bar is followed by its quote): bars and quotes.
    eventually(
        lambda: (
            len(ours(BAR_TYPE)) >= 2 * BARS_PER_SYMBOL
            and len(ours(QUOTE_TYPE)) >= 2 * BARS_PER_SYMBOL
        ),
        what="every replayed bar and quote at the subscriber",
    )
    bars = ours(BAR_TYPE)
    for symbol in symbols:
        got = [
            (ts(e["data"]["ts_open"]), Decimal(e["data"]["close"]))
            for e in bars
            if e["data"]["symbol"] == symbol
        ]
        assert got == expected[symbol], (
            f"{symbol} on {pubsub}: bars missing, repeated or out of order"
        )
    assert len({e["id"] for e in bars}) == len(bars)
    assert all(e["partitionkey"] == e["data"]["symbol"] for e in bars)
    assert all(e["source"] == "/market-data" for e in bars)
    assert feed["replay"]["finished"] is True
