from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from orchestrator.main import create_app
from orchestrator.service.operations import OperationsService
from orchestrator.settings import OrchestratorSettings
from trader_common.adapters.inprocess import InMemoryEventBus, InMemoryStateStore
from trader_common.contracts import OperationalStateChanged

AT = datetime(2026, 11, 24, 15, tzinfo=UTC)


class FakeCanceller:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def cancel_all(self, reason: str) -> int:
        self.calls.append(reason)
        return 3


@pytest.fixture
def bus() -> InMemoryEventBus:
    return InMemoryEventBus()


@pytest.fixture
def canceller() -> FakeCanceller:
    return FakeCanceller()


@pytest.fixture
def client(bus: InMemoryEventBus, canceller: FakeCanceller) -> Iterator[TestClient]:
    app = create_app(OrchestratorSettings(log_json=False, workflows=False))
    app.state.operations = OperationsService(InMemoryStateStore(), bus, lambda: AT)
    app.state.order_canceller = canceller
    with TestClient(app) as test_client:
        yield test_client


def test_operations_api_pause_then_resume_strategy_publishes_each_change(
    client: TestClient, bus: InMemoryEventBus
) -> None:
    paused = client.post("/operations/sma-1/pause", json={"reason": "investigating"})
    assert paused.status_code == 200
    assert paused.json()["current"] == "paused"
    assert client.get("/operations").json() == {
        "global": "running",
        "strategies": {"sma-1": "paused"},
    }
    assert client.post("/operations/sma-1/resume", json={"reason": "ok"}).status_code == 200
    changes = [e for e in bus.published if isinstance(e, OperationalStateChanged)]
    assert [(c.previous, c.current) for c in changes] == [
        ("running", "paused"),
        ("paused", "running"),
    ]


def test_operations_api_refused_transition_is_409_with_both_states(client: TestClient) -> None:
    response = client.post("/operations/global/resume", json={"reason": "why not"})
    assert response.status_code == 409
    assert response.json()["detail"] == "cannot resume global: it is running"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/operations/global/explode", {"reason": "x"}),
        ("/operations/global/pause", {}),
        ("/operations/global/pause", {"reason": ""}),
        ("/operations/bad scope!/pause", {"reason": "x"}),
    ],
)
def test_operations_api_bad_request_is_422(
    client: TestClient, path: str, body: dict[str, str]
) -> None:
    assert client.post(path, json=body).status_code == 422


def test_operations_api_kill_switch_halts_and_cancels_open_orders(
    client: TestClient, canceller: FakeCanceller
) -> None:
    response = client.post("/operations/kill-switch", json={"reason": "fat finger"})
    assert response.json() == {"halted": True, "was_already_halted": False, "orders_canceled": 3}
    assert client.get("/operations").json()["global"] == "halted"
    again = client.post("/operations/kill-switch", json={"reason": "again"}).json()
    assert again["was_already_halted"] is True
    assert canceller.calls == ["fat finger", "again"]
