"""The HTTP surface, in process: CloudEvent requests (binary and structured), pub/sub deliveries,
market events, the audit trail, features and routing status."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from ai_decision.domain.commands import Task
from tests.unit.ai_decision.builders import (
    T0,
    bar_event,
    bar_series,
    binary,
    dapr_envelope,
    in_process_app,
    make_request,
    quote_event,
    structured,
)
from trader_common.adapters.inprocess import InMemoryEventBus, InMemoryStateStore
from trader_common.cloudevents import to_cloud_event
from trader_common.contracts import DecisionMade
from trader_common.ports import PlatformUnavailableError, StateItem

BARS = bar_series(80, seed=1, drift=0.004, vol=0.004)
AS_OF = BARS[-1].ts_close + timedelta(seconds=30)


async def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def served() -> AsyncIterator[tuple[httpx.AsyncClient, InMemoryStateStore, InMemoryEventBus]]:
    app, state, bus = in_process_app()
    async with await client_for(app) as client:
        for bar in BARS:
            response = await client.post(
                "/events/market", json=to_cloud_event(bar_event("AAPL", bar), "/md")
            )
            assert response.json() == {"status": "SUCCESS"}
        await client.post(
            "/events/market",
            json=to_cloud_event(quote_event("AAPL", BARS[-1].ts_close, "99.9", "100.1"), "/md"),
        )
        yield client, state, bus


async def post_event(
    client: httpx.AsyncClient, headers: dict[str, str], body: bytes
) -> httpx.Response:
    return await client.post("/decisions/requests", content=body, headers=headers)


@pytest.mark.parametrize("mode", [structured, binary], ids=["structured", "binary"])
async def test_request_cloudevent_either_mode_is_decided_and_published(
    served: Any, mode: Any
) -> None:
    client, _, bus = served
    request = make_request(["AAPL", "MSFT"], as_of=AS_OF)
    response = await post_event(client, *mode(request))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["request_id"] == str(request.request_id)
    assert [o["symbol"] for o in body["outcomes"]] == ["AAPL", "MSFT"]
    assert all(o["status"] == "accepted" and o["provider"] == "local" for o in body["outcomes"])
    assert len(bus.published) == 2 and all(isinstance(e, DecisionMade) for e in bus.published)


async def test_request_not_a_cloudevent_is_400_with_reason(served: Any) -> None:
    client, _, bus = served
    response = await post_event(
        client, {"content-type": "application/json"}, json.dumps({"hello": "world"}).encode()
    )
    assert response.status_code == 400
    assert "not a valid CloudEvent" in response.json()["detail"]
    assert bus.published == []


async def test_request_garbage_body_is_400(served: Any) -> None:
    client, _, _ = served
    response = await post_event(client, {"content-type": "application/cloudevents+json"}, b"\xff{")
    assert response.status_code == 400


async def test_request_wrong_cloudevent_type_is_400_naming_both(served: Any) -> None:
    client, _, _ = served
    response = await post_event(client, *structured(make_request(), "com.example.other"))
    assert response.status_code == 400
    assert "com.example.other" in response.json()["detail"]
    assert "ai.active-trader.ai.request-decision.v1" in response.json()["detail"]


async def test_request_invalid_data_is_422_listing_each_problem(served: Any) -> None:
    client, _, _ = served
    data = make_request().model_dump(mode="json")
    data["symbols"] = ["AAPL", "AAPL"]
    del data["account"]
    response = await post_event(client, *binary(data))
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["problems"]}
    assert {"symbols", "account"} <= fields


async def test_request_binary_mode_non_json_data_is_400(served: Any) -> None:
    client, _, _ = served
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "1",
        "ce-source": "/x",
        "ce-type": "ai.active-trader.ai.request-decision.v1",
        "content-type": "text/plain",
    }
    response = await post_event(client, headers, b"decide AAPL please")
    assert response.status_code == 400
    assert "data is not JSON" in response.json()["detail"]


async def test_pubsub_delivery_success_drop_and_retry() -> None:
    class DownState(InMemoryStateStore):
        down = False

        async def get(self, key: str) -> StateItem | None:
            if self.down:
                raise PlatformUnavailableError("state store down")
            return await super().get(key)

    state = DownState()
    app, _, bus = in_process_app(state=state)
    async with await client_for(app) as client:
        ok = await client.post(
            "/events/decision-requests",
            content=dapr_envelope(make_request(as_of=AS_OF)),
            headers={"content-type": "application/cloudevents+json"},
        )
        assert ok.json() == {"status": "SUCCESS"}
        assert len(bus.published) == 1
        bad = await client.post(
            "/events/decision-requests",
            content=b'{"specversion": "1.0"}',
            headers={"content-type": "application/cloudevents+json"},
        )
        assert bad.json() == {"status": "DROP"}
        state.down = True
        retry = await client.post(
            "/events/decision-requests",
            content=dapr_envelope(make_request(as_of=AS_OF)),
            headers={"content-type": "application/cloudevents+json"},
        )
        assert retry.json() == {"status": "RETRY"}


async def test_pubsub_redelivery_is_idempotent() -> None:
    app, _, bus = in_process_app()
    envelope = dapr_envelope(make_request(["AAPL"], as_of=AS_OF))
    async with await client_for(app) as client:
        for _ in range(3):
            response = await client.post(
                "/events/decision-requests",
                content=envelope,
                headers={"content-type": "application/cloudevents+json"},
            )
            assert response.json() == {"status": "SUCCESS"}
    assert len(bus.published) == 1


async def test_market_event_bad_payload_is_dropped_not_500(served: Any) -> None:
    client, _, _ = served
    response = await client.post("/events/market", content=b"not json")
    assert response.json() == {"status": "DROP"}


async def test_audit_read_back_of_accepted_and_rejected(served: Any) -> None:
    client, _, _ = served
    limits = {"max_position_weight": "0.10", "min_confidence": "0.99"}
    data = make_request(["AAPL"], as_of=AS_OF, task=Task.DEEP).model_dump(mode="json")
    data["risk_limits"] = limits
    response = await post_event(client, *structured(data))
    [outcome] = response.json()["outcomes"]
    audit = (await client.get(f"/decisions/{outcome['decision_id']}/audit")).json()
    for key in (
        "prompt_template",
        "prompt_sha256",
        "provider",
        "model",
        "usage",
        "cost_usd",
        "latency_ms",
        "context",
        "raw_output",
        "reasons",
        "status",
        "prompt_user",
    ):
        assert key in audit
    assert audit["prompt_template"] == "decision/v1"
    assert audit["context"]["risk_limits"]["min_confidence"] == "0.99"
    assert audit["status"] == outcome["status"]


async def test_audit_unknown_decision_is_404(served: Any) -> None:
    client, _, _ = served
    response = await client.get(f"/decisions/{uuid4()}/audit")
    assert response.status_code == 404


async def test_decisions_list_newest_first_with_limit(served: Any) -> None:
    client, _, _ = served
    ids = []
    for i in range(3):
        request = make_request(["AAPL"], as_of=AS_OF + timedelta(seconds=i), strategy_id="s-list")
        response = await post_event(client, *structured(request))
        ids.append(response.json()["outcomes"][0]["decision_id"])
    listed = (await client.get("/decisions", params={"strategy_id": "s-list", "limit": 2})).json()
    assert listed["total"] == 3
    assert [d["decision_id"] for d in listed["decisions"]] == [ids[2], ids[1]]
    assert (
        await client.get("/decisions", params={"strategy_id": "s-list", "limit": 0})
    ).status_code == 422
    assert (await client.get("/decisions")).status_code == 422


async def test_features_endpoint_is_point_in_time(served: Any) -> None:
    client, _, _ = served
    at = BARS[40].ts_close
    response = await client.get("/features/AAPL", params={"as_of": at.isoformat()})
    body = response.json()
    assert body["bars"]["as_of"] == at.isoformat()
    assert body["quote"] is None  # the only quote came later
    naive = await client.get("/features/AAPL", params={"as_of": "2026-01-05T10:00:00"})
    assert naive.status_code == 422


async def test_routing_status_is_served(served: Any) -> None:
    client, _, _ = served
    body = (await client.get("/routing/status")).json()
    assert body["budget"]["level"] == "ok"
    assert body["targets"] == [
        {
            "target": "local:ensemble-v1",
            "circuit": "closed",
            "failures": 0,
            "opened_at": None,
            "last_error": "",
        }
    ]


async def test_batches_without_claude_are_404_with_reason(served: Any) -> None:
    client, _, _ = served
    response = await client.get("/decisions/batches")
    assert response.status_code == 404
    assert "claude" in response.json()["detail"]


async def test_two_processes_share_nothing_but_the_state_store() -> None:
    state, bus = InMemoryStateStore(), InMemoryEventBus()
    first, _, _ = in_process_app(state=state, publisher=bus)
    second, _, _ = in_process_app(state=state, publisher=bus)
    async with await client_for(first) as a, await client_for(second) as b:
        for bar in BARS:
            await a.post("/events/market", json=to_cloud_event(bar_event("AAPL", bar), "/md"))
        request = make_request(["AAPL"], as_of=AS_OF)
        decided = await post_event(b, *structured(request))  # features ingested by the other one
        [outcome] = decided.json()["outcomes"]
        audit = (await a.get(f"/decisions/{outcome['decision_id']}/audit")).json()
        assert audit["context"]["features"]["bars"]["bars_used"] == 80
        again = await post_event(a, *structured(request))  # redelivered to the other process
        assert again.json()["outcomes"][0]["decision_id"] == outcome["decision_id"]
    assert len(bus.published) == 1


async def test_create_app_touches_no_network_and_serves_health() -> None:
    # the sidecar address is unreachable: building the app and deciding must not need it
    app, _, _ = in_process_app()
    async with await client_for(app) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        response = await post_event(client, *structured(make_request(as_of=T0)))
        assert response.status_code == 200


async def test_decisions_list_skips_an_unreadable_index_slot(served: Any) -> None:
    client, state, _ = served
    await post_event(client, *structured(make_request(["AAPL"], as_of=AS_OF, strategy_id="s-x")))
    await state.save("audit-head:s-x", {"count": 3})  # two slots claimed but never named…
    await state.save("audit-slot:s-x:2", "not-a-uuid")  # …one of them with garbage
    listed = (await client.get("/decisions", params={"strategy_id": "s-x"})).json()
    assert len(listed["decisions"]) == 1
