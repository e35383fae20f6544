"""Fuzzing the AI decision HTTP surface (in process, local model, in-memory state and pub/sub):
decision requests as CloudEvents over HTTP in both content modes (junk envelopes, junk headers,
near-valid request data: wrong types, numbers that are not finite or do not fit, times at the
edges of the calendar, extra fields, bad enums), the two pub/sub delivery routes (answered per
ADR 4: DROP with the reason logged, never a 500), and junk path segments and query strings on
every read route. Afterwards the app still decides a valid request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st

from ai_decision.domain.commands import REQUEST_DECISION_TYPE
from ai_decision.settings import AiDecisionSettings
from tests.fakes.server import free_port
from tests.support.fuzz import (
    FUZZ,
    FUZZ_MORE,
    JsonEventBus,
    JsonStateStore,
    assert_clear_answer,
    assert_delivery_answer,
    captured_logs,
    dapr_envelope,
    deliveries,
    json_bodies,
    near_valid,
    openapi_routes,
    path_segments,
    query_strings,
    routes_of,
    texts,
    times,
)
from tests.unit.ai_decision.builders import (
    bar_event,
    bar_series,
    in_process_app,
    make_request,
    quote_event,
    request_data,
    structured,
)
from trader_common.adapters.secrets import StaticSecretSource
from trader_common.cloudevents import to_cloud_event
from trader_common.contracts import TradePrinted
from trader_common.settings import SidecarSettings

BARS = bar_series(30, seed=3)
AS_OF = BARS[-1].ts_close + timedelta(seconds=30)
FUZZED = {
    ("POST", "/decisions/requests"),
    ("POST", "/events/decision-requests"),
    ("POST", "/events/market"),
    ("GET", "/decisions/batches"),
    ("GET", "/decisions/batches/{batch_id}"),
    ("POST", "/decisions/batches/collect"),
    ("POST", "/decisions/batches/{batch_id}/collect"),
    ("GET", "/decisions/{decision_id}/audit"),
    ("GET", "/decisions"),
    ("GET", "/features/{symbol}"),
    ("GET", "/routing/status"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


def settings(**values: Any) -> AiDecisionSettings:
    # a sidecar port nothing listens on: /readyz says so (503) at once
    base = {"news_source": "none", "log_json": False, "log_level": "WARNING"}
    return AiDecisionSettings.model_validate(
        {**base, "sidecar": SidecarSettings(http_port=free_port()), **values}
    )


def served(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        for bar in BARS:
            response = client.post(
                "/events/market", json=to_cloud_event(bar_event("AAPL", bar), "/md")
            )
            assert response.json() == {"status": "SUCCESS"}
        yield client


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app, _, _ = in_process_app(
        settings(), secrets=StaticSecretSource({}), state=JsonStateStore(), publisher=JsonEventBus()
    )
    yield from served(app)


@pytest.fixture(scope="module")
def claude_client() -> TestClient:
    """With an Anthropic key, for the overnight batch routes (nothing reaches the API here)."""
    app, _, _ = in_process_app(
        settings(anthropic_api_key="sk-fuzz", anthropic_base_url="http://127.0.0.1:9")
    )
    # no start-up: it would import the anthropic SDK, which these routes never use
    return TestClient(app)


def assert_still_decides(client: TestClient) -> None:
    headers, body = structured(make_request(["AAPL"], as_of=AS_OF))
    response = client.post("/decisions/requests", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["outcomes"][0]["symbol"] == "AAPL"


def valid_data() -> dict[str, Any]:
    data = request_data(make_request(["AAPL", "MSFT"], as_of=AS_OF, positions={"AAPL": "5"}))
    data["risk_limits"]["max_order_notional"] = "5000"
    return data


def valid_envelope(data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid4()),
        "source": "/orchestrator",
        "type": REQUEST_DECISION_TYPE,
        "datacontenttype": "application/json",
        "data": data,
    }


HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
CE_HEADERS = {
    "ce-specversion": st.sampled_from(("1.0", "0.3", "2", "")),
    "ce-id": HEADER_TEXT,
    "ce-source": HEADER_TEXT,
    "ce-type": st.sampled_from((REQUEST_DECISION_TYPE, "ai.active-trader.market.quote.v1", "")),
    "ce-time": times().filter(str.isascii),
    "content-type": st.sampled_from(
        ("application/json", "text/plain", "application/cloudevents+json", "", "application/xml")
    ),
}


@st.composite
def binary_headers(draw: st.DrawFn) -> dict[str, str]:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "fuzz-1",
        "ce-source": "/orchestrator",
        "ce-type": REQUEST_DECISION_TYPE,
        "content-type": "application/json",
    }
    for name in draw(st.lists(st.sampled_from(sorted(CE_HEADERS)), max_size=3, unique=True)):
        if draw(st.booleans()):
            headers.pop(name, None)
        else:
            headers[name] = draw(st.one_of(CE_HEADERS[name], HEADER_TEXT))
    return headers


def market_envelopes() -> list[dict[str, Any]]:
    bar = BARS[-1]
    trade = TradePrinted(
        symbol="AAPL", source="t", ts_event=bar.ts_close, price=bar.close, size=bar.volume
    )
    events = [
        bar_event("AAPL", bar),
        quote_event("AAPL", bar.ts_close, "99.9", "100.1"),
        trade,
    ]
    return [dapr_envelope(to_cloud_event(e, "/market-data"), "market.events") for e in events]


def test_ai_decision_every_route_is_fuzzed(client: TestClient) -> None:
    assert routes_of(client.app) == FUZZED  # type: ignore[arg-type]
    assert openapi_routes(client.app) <= FUZZED  # type: ignore[arg-type]


@FUZZ_MORE
@given(body=st.one_of(json_bodies(valid_envelope(valid_data())), near_valid(valid_data())))
@example(body=b'{"": "NaN", "\\ud800": "NaN"}')  # the SDK's error quoted a lone surrogate: 500
def test_ai_decision_structured_request_junk_is_answered_4xx_with_detail(
    client: TestClient, body: Any
) -> None:
    if not isinstance(body, bytes):  # near-valid data in a valid envelope
        headers, body = structured(body)
    else:
        headers = {"content-type": "application/cloudevents+json"}
    response = client.post("/decisions/requests", content=body, headers=headers)
    assert_clear_answer(response, f"structured request {body[:300]!r}")
    assert_still_decides(client)


@FUZZ_MORE
@given(headers=binary_headers(), body=json_bodies(valid_data()))
def test_ai_decision_binary_request_junk_is_answered_4xx_with_detail(
    client: TestClient, headers: dict[str, str], body: bytes
) -> None:
    response = client.post("/decisions/requests", content=body, headers=headers)
    assert_clear_answer(response, f"binary request {headers} {body[:300]!r}")
    assert_still_decides(client)


@FUZZ  # the parser of the HTTP route, fuzzed more above
@given(
    body=deliveries([dapr_envelope(valid_envelope(valid_data()), "ai.decision-requests")]),
    content_type=st.sampled_from(("application/cloudevents+json", "application/json", "")),
)
def test_ai_decision_decision_request_delivery_junk_is_dropped_with_reason(
    client: TestClient, body: bytes, content_type: str
) -> None:
    with captured_logs() as records:
        response = client.post(
            "/events/decision-requests", content=body, headers={"content-type": content_type}
        )
    assert_delivery_answer(response, records, f"decision request delivery {body[:300]!r}")
    assert_still_decides(client)


@FUZZ_MORE
@given(body=deliveries(market_envelopes()))
def test_ai_decision_market_delivery_junk_is_dropped_with_reason(
    client: TestClient, body: bytes
) -> None:
    with captured_logs() as records:
        response = client.post(
            "/events/market", content=body, headers={"content-type": "application/json"}
        )
    assert_delivery_answer(response, records, f"market delivery {body[:300]!r}")
    assert_still_decides(client)


@FUZZ
@given(
    route=st.sampled_from(("/features/{}", "/decisions/{}/audit")),
    segment=path_segments(),
    query=query_strings({"as_of": times(), "strategy_id": texts()}),
)
def test_ai_decision_read_path_and_query_junk_is_answered_4xx_with_detail(
    client: TestClient, route: str, segment: str, query: str
) -> None:
    path = route.format(segment)
    response = client.get(f"{path}?{query}")
    assert_clear_answer(response, f"GET {path}?{query[:200]}")


@FUZZ
@given(
    query=query_strings(
        {
            "strategy_id": st.sampled_from(("momo-1", "x" * 64, "x" * 65, "")),
            "limit": st.integers(-5, 600).map(str),
        }
    )
)
def test_ai_decision_decisions_list_query_junk_is_answered_4xx_with_detail(
    client: TestClient, query: str
) -> None:
    response = client.get(f"/decisions?{query}")
    assert_clear_answer(response, f"GET /decisions?{query[:200]}")


@FUZZ
@given(
    path=st.sampled_from(
        (
            "/routing/status",
            "/healthz",
            "/readyz",
            "/openapi.json",
            "/docs",
            "/decisions/batches",
            "/decisions/requests",
            "/features/AAPL",
            "/dapr/subscribe",  # subscriptions are declarative: none served
        )
    ),
    method=st.sampled_from(("GET", "POST", "PUT", "DELETE")),
    query=query_strings({"as_of": times()}),
    body=json_bodies({"symbols": ["AAPL"]}),
)
def test_ai_decision_any_method_query_or_body_is_answered_with_detail(
    client: TestClient, path: str, method: str, query: str, body: bytes
) -> None:
    response = client.request(method, f"{path}?{query}", content=body)
    # /readyz is 503 without a sidecar, by design (it names what is missing)
    not_ready = (503,) if path == "/readyz" else ()
    assert_clear_answer(response, f"{method} {path}?{query[:200]}", allowed_5xx=not_ready)


@FUZZ
@given(
    route=st.sampled_from(
        (
            ("GET", "/decisions/batches/{}"),
            ("POST", "/decisions/batches/{}/collect"),
            ("POST", "/decisions/batches/collect"),
            ("GET", "/decisions/batches"),
        )
    ),
    segment=path_segments(),
    query=query_strings({"limit": st.integers().map(str)}),
    body=json_bodies({"batch_id": "msgbatch_1"}),
)
def test_ai_decision_batch_routes_junk_is_answered_with_detail(
    claude_client: TestClient, route: tuple[str, str], segment: str, query: str, body: bytes
) -> None:
    method, template = route
    path = template.format(segment)
    response = claude_client.request(method, f"{path}?{query}", content=body)
    assert_clear_answer(response, f"{method} {path}")
    assert claude_client.get("/decisions/batches").json() == {"open": []}


# --- regressions found by the fuzzer --------------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000
OUT_OF_RANGE_TIMES = ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00")


@pytest.mark.parametrize("as_of", OUT_OF_RANGE_TIMES)
def test_ai_decision_request_as_of_outside_utc_years_is_422_naming_it(
    client: TestClient, as_of: str
) -> None:
    # was a 500: the request's as_of could not be converted to UTC (OverflowError)
    data = valid_data()
    data["as_of"] = as_of
    headers, body = structured(data)
    response = client.post("/decisions/requests", content=body, headers=headers)
    assert response.status_code == 422
    [problem] = response.json()["problems"]
    assert problem["field"] == "as_of"
    assert "outside years 1-9999" in problem["problem"]


@pytest.mark.parametrize("content_type", ["application/json", "application/cloudevents+json"])
def test_ai_decision_request_json_nested_too_deep_is_400_with_detail(
    client: TestClient, content_type: str
) -> None:
    # was a 500: the JSON parser's RecursionError escaped
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "deep",
        "ce-source": "/x",
        "ce-type": REQUEST_DECISION_TYPE,
        "content-type": content_type,
    }
    response = client.post("/decisions/requests", content=DEEP, headers=headers)
    assert response.status_code == 400
    assert response.json()["detail"]


@pytest.mark.parametrize("path", ["/events/market", "/events/decision-requests"])
def test_ai_decision_delivery_json_nested_too_deep_is_dropped_with_reason(
    client: TestClient, path: str
) -> None:
    # was a 500 (RecursionError): daprd would have retried the message forever
    with captured_logs() as records:
        response = client.post(path, content=DEEP, headers={"content-type": "application/json"})
    assert assert_delivery_answer(response, records, path) == "DROP"


@pytest.mark.parametrize("ts_event", OUT_OF_RANGE_TIMES)
def test_ai_decision_market_event_time_outside_utc_years_is_dropped_with_reason(
    client: TestClient, ts_event: str
) -> None:
    # was a 500: the event contract's UTC conversion raised OverflowError
    envelope = market_envelopes()[1]
    envelope["data"]["ts_event"] = ts_event
    with captured_logs() as records:
        response = client.post("/events/market", json=envelope)
    assert assert_delivery_answer(response, records, "market event") == "DROP"
    reasons = " ".join(str(getattr(r, "reason", "")) for r in records)
    assert "ts_event" in reasons and "outside years 1-9999" in reasons


@pytest.mark.parametrize("as_of", OUT_OF_RANGE_TIMES)
def test_ai_decision_features_as_of_outside_utc_years_is_422_naming_it(
    client: TestClient, as_of: str
) -> None:
    # was a 500: as_of.astimezone(UTC) raised OverflowError
    response = client.get("/features/AAPL", params={"as_of": as_of})
    assert response.status_code == 422
    assert "outside years 1-9999" in response.json()["problems"][0]["problem"]
