"""ai-decision with its real sidecar: features from market.events, a decision request pushed as
a CloudEvent over HTTP (structured and binary mode), the decision on ai.decisions keyed by the
strategy, and its audit record readable back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support.platform import eventually, start_recorder
from tests.unit.ai_decision.builders import bar_event, bar_series, binary, make_request, structured
from trader_common.contracts import DECISION_REQUESTS_TOPIC, utc_now

pytestmark = pytest.mark.e2e


def test_ai_decision_request_over_http_publishes_audited_decision(
    platform_factory: Callable[..., Any],
) -> None:
    platform = platform_factory(
        ["ai-decision"],
        env={
            "ai-decision": {
                "AI_DECISION_FEATURE_TIMEFRAME": "1Min",
                "AI_DECISION_NEWS_SOURCE": "none",
                "AI_DECISION_LOG_JSON": "false",
            }
        },
    )
    app = platform.running["ai-decision"].url
    recorder = start_recorder(platform, topics=("ai.decisions",))
    symbol = f"E{uuid4().hex[:5].upper()}"

    # 1. features come from market events delivered through the sidecar
    t0 = utc_now().replace(second=0, microsecond=0) - timedelta(minutes=45)
    for bar in bar_series(40, seed=3, drift=0.004, vol=0.002, t0=t0):
        recorder.publish(bar_event(symbol, bar))
    as_of = utc_now()

    def bars_used() -> int:
        features = httpx.get(f"{app}/features/{symbol}", params={"as_of": as_of.isoformat()})
        return int((features.json().get("bars") or {}).get("bars_used") or 0)

    eventually(
        lambda: bars_used() >= 40,
        what="features built from 40 bars",
    )

    # 2. a decision request pushed as a structured-mode CloudEvent over HTTP
    request = make_request([symbol], as_of=as_of, strategy_id="e2e-momo")
    headers, body = structured(request)
    response = httpx.post(f"{app}/decisions/requests", headers=headers, content=body, timeout=30)
    assert response.status_code == 200, response.text
    [outcome] = response.json()["outcomes"]
    assert outcome["symbol"] == symbol
    assert outcome["status"] == "accepted", outcome
    assert outcome["published"] is True

    # 3. the decision is on ai.decisions, keyed by the strategy, and audited
    decisions = eventually(
        lambda: [
            e
            for e in recorder.received("ai.decisions")
            if e["data"].get("decision_id") == outcome["decision_id"]
        ],
        what="the decision on ai.decisions",
    )
    assert decisions[0]["data"]["strategy_id"] == "e2e-momo"
    assert decisions[0]["partitionkey"] == "e2e-momo"
    audit = httpx.get(f"{app}/decisions/{outcome['decision_id']}/audit").json()
    assert audit["status"] == "accepted"
    assert audit["provider"] == "local"

    # 4. binary mode works too; a redelivered request decides nothing new
    headers, body = binary(make_request([symbol], as_of=as_of, strategy_id="e2e-momo"))
    assert httpx.post(f"{app}/decisions/requests", headers=headers, content=body).status_code == 200
    again = httpx.post(
        f"{app}/decisions/requests", headers=structured(request)[0], content=structured(request)[1]
    )
    assert again.json()["outcomes"][0]["decision_id"] == outcome["decision_id"]

    # 5. the same request shape through pub/sub reaches it too
    queued = make_request([symbol], as_of=as_of, strategy_id="e2e-pubsub")
    headers, body = structured(queued)
    published = httpx.post(
        f"{recorder.sidecar_url}/v1.0/publish/pubsub/{DECISION_REQUESTS_TOPIC}",
        params={"metadata.partitionKey": "e2e-pubsub"},
        content=body,
        headers={"content-type": "application/cloudevents+json"},
    )
    assert published.status_code == 204, published.text
    eventually(
        lambda: [
            e
            for e in recorder.received("ai.decisions")
            if e["data"].get("request_id") == str(queued.request_id)
        ],
        what="a decision for the request sent through pub/sub",
    )

    # 6. not a CloudEvent: a clear 4xx, and the service keeps serving
    bad = httpx.post(
        f"{app}/decisions/requests", content=b"{}", headers={"content-type": "application/json"}
    )
    assert 400 <= bad.status_code < 500
    assert platform.running["ai-decision"].app.alive()
