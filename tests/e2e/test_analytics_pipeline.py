"""Analytics through its real sidecar: fills, position marks and quotes published as CloudEvents
on trade.events, position.updates and market.events reach the read model on PostgreSQL (its DSN
from TRADER_POSTGRES_DSN, as the launcher sets it), and GET /equity and /metrics answer from
it. A malformed fill is dead-lettered (the gateway records it) without blocking the fills
behind it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.integration.analytics.builders import day, fill, position, quote
from tests.support.platform import eventually
from trader_cli.runfile import Profile
from trader_common.cloudevents import to_cloud_event
from trader_common.contracts import Event

pytestmark = pytest.mark.e2e


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


def publish_event(sidecar: str, event: Event) -> None:
    publish(sidecar, str(event.topic), to_cloud_event(event, "/e2e-test"), event.partition_key())


def test_analytics_pipeline_events_to_equity_and_metrics_with_dead_letters(
    platform_factory: Callable[..., Any],
) -> None:
    platform = platform_factory(["analytics", "api-gateway"], profile=Profile(state="postgres"))
    analytics = platform.running["analytics"].url
    sidecar = platform.running["analytics"].sidecar_url
    gateway = platform.running["api-gateway"].url
    strategy = f"e2e-{uuid4().hex[:8]}"

    def strategy_fill(*args: Any, **kwargs: Any) -> Event:
        return fill(*args, strategy=strategy, symbol="E2EX", **kwargs)

    first = [
        strategy_fill(day(0, 1), "buy", "10", "100", fee="1"),
        position(day(0, 1), "E2EX", "10", "100", strategy=strategy),
        quote(day(0, 2), "101", "103", symbol="E2EX"),  # mid 102
        quote(day(1, 2), "104", "106", symbol="E2EX"),  # mid 105
    ]
    for event in first:
        publish_event(sidecar, event)

    # A malformed fill (negative fee) and bytes that are not JSON, keyed like the fill behind them.
    template = to_cloud_event(strategy_fill(day(1, 3), "sell", "4", "110", fee="1"), "/e2e-test")
    malformed = {**template, "id": f"bad-fill-{uuid4()}", "data": {**template["data"], "fee": "-1"}}
    publish(sidecar, "trade.events", malformed, "E2EX")
    publish(sidecar, "trade.events", b"\x00not json at all", "E2EX", raw=True)
    behind = strategy_fill(day(2, 1), "sell", "10", "108", fee="1")
    publish_event(sidecar, behind)

    # The fill behind the bad messages arrives: the position is closed at 108.
    def curve() -> list[dict[str, Any]]:
        response = httpx.get(
            f"{analytics}/equity", params={"strategy_id": strategy, "resolution": "event"}
        )
        assert response.status_code == 200, response.text
        points: list[dict[str, Any]] = response.json()["points"]
        assert len(points) == 4, points
        return points

    points = eventually(curve, what="the strategy's equity curve with the last fill")
    # 100,000 - 1,000 - 1 cash; marked 102, then 105; sold 10 at 108 with a fee of 1.
    assert [Decimal(p["equity"]) for p in points] == [
        Decimal(99_999),
        Decimal(100_019),
        Decimal(100_049),
        Decimal(100_078),
    ]
    assert Decimal(points[-1]["long_value"]) == 0

    daily = httpx.get(f"{analytics}/equity", params={"strategy_id": strategy, "resolution": "day"})
    assert [Decimal(p["equity"]) for p in daily.json()["points"]] == [
        Decimal(100_019),
        Decimal(100_049),
        Decimal(100_078),
    ]
    metrics = httpx.get(f"{analytics}/metrics", params={"strategy_id": strategy})
    assert metrics.status_code == 200, metrics.text
    body = metrics.json()
    assert body["metrics"]["periods"] == 2
    assert body["metrics"]["total_return"] == pytest.approx(100_078 / 100_019 - 1)
    assert body["trades"]["trades"] == 1
    assert Decimal(body["trades"]["net_pnl"]) == Decimal(78)  # 10 x 8 - 2 fees

    assert httpx.get(f"{analytics}/metrics", params={"strategy_id": "none"}).status_code == 404

    # The malformed fill is on the dead-letter topic, as it was published.
    def dead_letter() -> dict[str, Any]:
        letters: list[dict[str, Any]] = httpx.get(f"{gateway}/deadletters").json()
        found = [
            letter
            for letter in letters
            if isinstance(letter["payload"], dict)
            and letter["payload"].get("id") == malformed["id"]
        ]
        assert found, letters
        return found[0]

    letter = eventually(dead_letter, what="the malformed fill on the dead-letter topic")
    assert letter["original_topic"] == "trade.events"
    assert letter["original_type"] == malformed["type"]

    for running in platform.running.values():
        assert running.app.alive() and running.sidecar.alive()
