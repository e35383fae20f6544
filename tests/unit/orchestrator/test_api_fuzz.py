"""Fuzzing the orchestrator HTTP surface (in process: in-memory state and pub/sub, a fake
workflow client, workflow runtime and trading engine): junk scopes, commands and reasons on the
operations routes, near-valid cycle starts (wrong types, bad symbols, times at the edges of the
calendar, out-of-range timeouts, extra fields), junk cycle ids and query strings, and junk on
the cron binding's route. Every answer is below 500 and a 4xx says what was wrong; afterwards
the app still serves the operational state and the cycle log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.main import create_app
from orchestrator.service.cycles import CycleLog
from orchestrator.service.operations import OperationsService
from orchestrator.settings import OrchestratorSettings, StrategyConfig
from tests.support.fuzz import (
    FUZZ,
    FUZZ_MORE,
    JsonEventBus,
    JsonStateStore,
    assert_clear_answer,
    json_bodies,
    openapi_routes,
    path_segments,
    query_strings,
    routes_of,
    times,
)
from tests.unit.orchestrator.test_cycle_log import FakeEngine, FakeWorkflows, record
from tests.unit.orchestrator.test_operations_api import FakeCanceller

AT = datetime(2026, 11, 24, 15, tzinfo=UTC)
FUZZED = {
    ("GET", "/operations"),
    ("POST", "/operations/{scope}/{command}"),
    ("POST", "/operations/kill-switch"),
    ("POST", "/cycles"),
    ("GET", "/cycles"),
    ("GET", "/cycles/{cycle_id}"),
    ("POST", "/cycle-cron"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


@dataclass
class _Status:
    name: str


@dataclass
class _WorkflowState:
    runtime_status: _Status
    serialized_output: str | None = None
    failure_details: Any = None
    last_updated_at: datetime | None = None


class FakeWorkflowClient:
    """The Dapr Workflow client as the cycle routes use it: schedules serialize their input."""

    def __init__(self) -> None:
        self.scheduled: dict[str, dict[str, Any]] = {}

    def schedule_new_workflow(self, *, workflow: Any, input: Any, instance_id: str) -> str:
        json.dumps(input)  # what the client does with it before the sidecar sees it
        self.scheduled[instance_id] = input
        return instance_id

    def get_workflow_state(self, instance_id: str, *, fetch_payloads: bool = True) -> Any:
        if instance_id not in self.scheduled:
            return None
        return _WorkflowState(_Status("RUNNING"))


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = OrchestratorSettings(log_json=False, log_level="WARNING", workflows=False)
    app = create_app(settings)
    state = JsonStateStore()
    app.state.platform.state = state  # the cron route keeps its slots there
    app.state.operations = OperationsService(state, JsonEventBus(), lambda: AT)
    app.state.order_canceller = FakeCanceller()
    app.state.cycle_log = CycleLog(
        state, FakeWorkflows(), FakeEngine(), "trading-engine", lambda: AT + timedelta(hours=1)
    )
    app.state.workflow_client = FakeWorkflowClient()
    # the cron route runs as with workflows on, for one strategy on a 24/7 calendar
    app.state.settings = settings.model_copy(
        update={
            "workflows": True,
            "strategies": [StrategyConfig(strategy_id="momo", symbols=["AAPL"], cadence_seconds=5)],
        }
    )
    with TestClient(app) as test_client:
        # one cycle in the log, so GET /cycles compares its start with the junk ``since``
        test_client.portal.call(app.state.cycle_log.started, record(1, AT))  # type: ignore[union-attr]
        yield test_client


def assert_still_serves(client: TestClient) -> None:
    operations = client.get("/operations")
    assert operations.status_code == 200, operations.text
    assert set(operations.json()) == {"global", "strategies"}
    cycles = client.get("/cycles")
    assert cycles.status_code == 200, cycles.text
    assert "momo-1" in [c["cycle_id"] for c in cycles.json()]


START = {
    "strategy_id": "momo",
    "symbols": ["AAPL", "MSFT"],
    "fill_timeout": 30,
    "as_of": "2026-11-24T15:00:00+00:00",
    "risk_limits": {"max_position_weight": "0.10", "min_confidence": "0.5"},
}
SCOPES = st.sampled_from(("global", "momo", "kill-switch", "a" * 64))
COMMANDS = st.sampled_from(("pause", "resume", "halt"))
BAD_SCOPES = st.one_of(st.sampled_from(("a" * 65, "bad scope!", "")), path_segments())
BAD_COMMANDS = st.one_of(st.sampled_from(("PAUSE", "explode", "kill-switch")), path_segments())


def test_orchestrator_every_route_is_fuzzed(client: TestClient) -> None:
    assert routes_of(client.app) == FUZZED  # type: ignore[arg-type]
    assert openapi_routes(client.app) <= FUZZED  # type: ignore[arg-type]


@FUZZ_MORE
@given(body=json_bodies(START))
def test_orchestrator_start_cycle_junk_is_answered_4xx_with_detail(
    client: TestClient, body: bytes
) -> None:
    response = client.post("/cycles", content=body, headers={"content-type": "application/json"})
    assert_clear_answer(response, f"POST /cycles {body[:300]!r}")
    assert_still_serves(client)


@FUZZ_MORE
@given(
    scope=st.one_of(SCOPES, SCOPES, SCOPES, BAD_SCOPES),
    command=st.one_of(COMMANDS, COMMANDS, COMMANDS, BAD_COMMANDS),
    body=json_bodies({"reason": "investigating a fill"}),
)
def test_orchestrator_operations_command_junk_is_answered_4xx_with_detail(
    client: TestClient, scope: str, command: str, body: bytes
) -> None:
    path = f"/operations/{scope}/{command}"
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert_clear_answer(response, f"POST {path} {body[:300]!r}")
    assert_still_serves(client)


@FUZZ
@given(body=json_bodies({"reason": "fat finger"}))
def test_orchestrator_kill_switch_junk_is_answered_4xx_with_detail(
    client: TestClient, body: bytes
) -> None:
    response = client.post(
        "/operations/kill-switch", content=body, headers={"content-type": "application/json"}
    )
    assert_clear_answer(response, f"POST /operations/kill-switch {body[:300]!r}")
    assert_still_serves(client)


@FUZZ_MORE
@given(
    query=query_strings({"since": times(), "limit": st.integers(-5, 200).map(str)}),
    segment=st.one_of(st.none(), st.sampled_from(("momo-1", "c-1", "a" * 65)), path_segments()),
)
def test_orchestrator_cycles_read_junk_is_answered_4xx_with_detail(
    client: TestClient, query: str, segment: str | None
) -> None:
    path = "/cycles" if segment is None else f"/cycles/{segment}"
    response = client.get(f"{path}?{query}")
    assert_clear_answer(response, f"GET {path}?{query[:200]}")
    assert_still_serves(client)


@FUZZ
@given(
    path=st.sampled_from(
        (
            "/cycle-cron",
            "/operations",
            "/healthz",
            "/readyz",
            "/openapi.json",
            "/cycles",
            "/dapr/subscribe",  # subscriptions are declarative: none served
        )
    ),
    method=st.sampled_from(("GET", "POST", "PUT", "DELETE", "OPTIONS")),
    query=query_strings({"limit": st.integers().map(str)}),
    body=json_bodies({"data": {}, "metadata": {}}),
)
def test_orchestrator_any_method_query_or_body_is_answered_with_detail(
    client: TestClient, path: str, method: str, query: str, body: bytes
) -> None:
    response = client.request(method, f"{path}?{query}", content=body)
    # /readyz is 503 without a sidecar, by design (it names what is missing)
    not_ready = (503,) if path == "/readyz" else ()
    assert_clear_answer(response, f"{method} {path}?{query[:200]}", allowed_5xx=not_ready)
    assert_still_serves(client)


# --- regressions found by the fuzzer --------------------------------------------------------------


@pytest.mark.parametrize("reason", [" ", "\t", "\u3000\n"])
@pytest.mark.parametrize("path", ["/operations/momo/pause", "/operations/kill-switch"])
def test_orchestrator_operations_blank_reason_is_422_naming_reason(
    client: TestClient, path: str, reason: str
) -> None:
    # was a 500: the domain refused the blank reason with a ValueError the API did not map
    response = client.post(path, json={"reason": reason})
    assert response.status_code == 422
    [problem] = response.json()["problems"]
    assert problem["field"] == "body.reason"
    assert "blank" in problem["problem"]


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"max_position_weight": "NaN"}, "max_position_weight"),
        ({"max_position_weight": "2"}, "max_position_weight"),
        ({"min_confidence": -1}, "min_confidence"),
        ({"allowed_order_types": []}, "allowed_order_types"),
        ({"allowed_order_types": ["teleport"]}, "allowed_order_types"),
        ({"max_leverage": "3"}, "max_leverage"),
    ],
)
def test_orchestrator_start_cycle_bad_risk_limits_is_422_naming_the_limit(
    client: TestClient, limits: dict[str, Any], field: str
) -> None:
    body = {**START, "cycle_id": f"limits-{field}", "risk_limits": limits}
    response = client.post("/cycles", json=body)
    assert response.status_code == 422, response.text
    assert any(field in p["field"] for p in response.json()["problems"]), response.text
    assert f"limits-{field}" not in client.app.state.workflow_client.scheduled  # type: ignore[attr-defined]


def test_orchestrator_start_cycle_risk_limits_reach_the_workflow_as_given(
    client: TestClient,
) -> None:
    for scope in ("global", "momo"):  # the fuzzing before may have paused or halted them
        client.post(f"/operations/{scope}/resume", json={"reason": "test resumes"})
    body = {**START, "cycle_id": "limits-ok"}
    response = client.post("/cycles", json=body)
    assert response.status_code == 202, response.text
    scheduled = client.app.state.workflow_client.scheduled["limits-ok"]  # type: ignore[attr-defined]
    assert scheduled["risk_limits"] == {"max_position_weight": "0.10", "min_confidence": "0.5"}
