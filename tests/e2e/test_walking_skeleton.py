"""The walking skeleton through real sidecars, once per pub/sub backend (only the YAML changes):
market-data publishes quotes → trading-engine keeps the last one in the state store (30 s TTL)
→ api-gateway answers GET /quotes/{symbol} by service invocation. Bad messages go to the
dead-letter topic, are visible there, and never block the messages behind them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support.platform import eventually
from trader_cli.runfile import Profile
from trader_common.cloudevents import to_cloud_event
from trader_common.contracts import QuoteUpdated

pytestmark = pytest.mark.e2e

APPS = ["market-data", "trading-engine", "api-gateway"]


def publish(sidecar: str, topic: str, body: Any, key: str, *, raw: bool = False) -> None:
    params = {"metadata.partitionKey": key}
    headers = {"content-type": "application/cloudevents+json"}
    if raw:
        params["metadata.rawPayload"] = "true"
        headers = {"content-type": "application/octet-stream"}
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    response = httpx.post(
        f"{sidecar}/v1.0/publish/pubsub/{topic}", params=params, content=content, headers=headers
    )
    assert response.status_code == 204, response.text


@pytest.mark.parametrize(
    ("pubsub", "state"),
    [("nats", "redis"), ("kafka", "redis"), ("redis", "redis"), ("nats", "postgres")],
)
def test_walking_skeleton_quote_flow_and_dead_letters_on_each_broker(
    platform_factory: Callable[..., Any], pubsub: str, state: str
) -> None:
    # Symbols of this test only: the session's brokers and state stores are shared.
    symbol, other, dlq = (f"{p}{uuid4().hex[:5].upper()}" for p in ("Q", "R", "D"))
    platform = platform_factory(
        APPS,
        profile=Profile(pubsub=pubsub, state=state),
        env={
            "market-data": {
                "MARKET_DATA_SYMBOLS": f"{symbol},{other}",
                "MARKET_DATA_INTERVAL_SECONDS": "0.2",
            }
        },
    )
    gateway = platform.running["api-gateway"].url
    market_sidecar = platform.running["market-data"].sidecar_url

    # 1. quotes flow: market-data → broker → trading-engine → state store ← gateway (invoke)
    quote = eventually(
        lambda: (r := httpx.get(f"{gateway}/quotes/{symbol}")).status_code == 200 and r.json(),
        what=f"a quote for {symbol} through the gateway",
    )
    assert quote["symbol"] == symbol
    assert quote["source"] == "synthetic"
    assert float(quote["bid"]) <= float(quote["ask"])
    assert httpx.get(f"{gateway}/quotes/NOPE{dlq}").status_code == 404
    assert httpx.get(f"{gateway}/quotes/not_a_symbol").status_code == 422

    # 2. three bad messages, keyed like the good one that follows (same partition on Kafka)
    now = datetime.now(UTC)
    good = QuoteUpdated(
        symbol=dlq, source="test", ts_event=now, bid=10, ask=11, bid_size=1, ask_size=1
    )
    envelope = to_cloud_event(good, "/e2e-test")
    unknown_type = {
        **envelope,
        "id": f"bad-type-{uuid4()}",
        "type": "ai.active-trader.market.nonsense.v9",
    }
    schema_violation = {
        **envelope,
        "id": f"bad-schema-{uuid4()}",
        "data": {**envelope["data"], "bid": "12"},
    }
    publish(market_sidecar, "market.events", b"\x00not json at all", dlq, raw=True)
    publish(market_sidecar, "market.events", unknown_type, dlq)
    publish(market_sidecar, "market.events", schema_violation, dlq)
    publish(market_sidecar, "market.events", envelope, dlq)

    # 3. the good message behind them still arrives
    delivered = eventually(
        lambda: (r := httpx.get(f"{gateway}/quotes/{dlq}")).status_code == 200 and r.json(),
        what="the valid quote published after the bad ones",
    )
    assert delivered["event_id"] == str(good.event_id)

    # 4. the bad ones are visible on the dead-letter topic, each with what it was
    def dead_letters() -> list[dict[str, Any]]:
        letters: list[dict[str, Any]] = httpx.get(f"{gateway}/deadletters").json()
        assert len(letters) >= 3, f"dead letters so far: {letters}"
        return letters

    letters = eventually(dead_letters, what="three dead letters")
    types = sorted(str(letter["original_type"]) for letter in letters)
    assert "ai.active-trader.market.nonsense.v9" in types
    assert QuoteUpdated.cloud_event_type() in types  # the schema violation
    assert any("not json at all" in str(letter["payload"]) for letter in letters), letters

    # 5. nothing crashed
    for running in platform.running.values():
        assert running.app.alive() and running.sidecar.alive()
