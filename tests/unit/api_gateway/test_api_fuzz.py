"""Fuzzing the API gateway HTTP surface (in process: in-memory state, a fake trading engine
behind service invocation, no sidecar): junk symbols in the quote path, junk query strings, and
junk dead-letter deliveries — the dead-letter topic is subscribed in raw payload mode, so a
delivery may carry anything at all, base64 or not. A delivery is answered per ADR 4 (SUCCESS,
RETRY, or DROP with the reason logged), never a 500; every HTTP answer is below 500 and a 4xx
says what was wrong; afterwards the gateway still serves a quote and the dead-letter log."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api_gateway.main import create_app
from api_gateway.service.deadletters import DeadLetterLog
from api_gateway.settings import ApiGatewaySettings
from tests.fakes.server import free_port
from tests.support.fuzz import (
    FUZZ,
    FUZZ_MORE,
    JsonStateStore,
    assert_clear_answer,
    assert_delivery_answer,
    captured_logs,
    dapr_envelope,
    deliveries,
    json_bodies,
    openapi_routes,
    path_segments,
    query_strings,
    routes_of,
)
from trader_common.settings import SidecarSettings

FUZZED = {
    ("GET", "/quotes/{symbol}"),
    ("GET", "/deadletters"),
    ("POST", "/events/deadletters"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}
QUOTE = {"symbol": "AAPL", "bid": "189.9", "ask": "190.1", "ts_event": "2026-11-24T15:00:00Z"}


class FakeEngine:
    """The trading engine's GET /quotes/{symbol} as the gateway reaches it through Dapr service
    invocation. The invocation URL is built as the Dapr adapter builds it: a method that leaves
    quotes/ (dot segments) would reach another engine route, so it fails the test."""

    async def invoke(
        self, app_id: str, method: str, *, http_method: str = "GET", body: Any = None
    ) -> tuple[int, Any]:
        prefix = f"/v1.0/invoke/{app_id}/method/"
        path = httpx.URL(f"http://sidecar{prefix}{method.lstrip('/')}").path
        assert path.startswith(f"{prefix}quotes/") and path.count("/") == prefix.count("/") + 1, (
            f"the gateway invoked {path!r} for {method!r}"
        )
        symbol = path.rsplit("/", 1)[-1]
        if symbol == "AAPL":
            return 200, QUOTE
        return 404, {"detail": f"no recent quote for {symbol}"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = ApiGatewaySettings(
        log_json=False, log_level="WARNING", sidecar=SidecarSettings(http_port=free_port())
    )
    app = create_app(settings)
    app.state.platform.invoker = FakeEngine()
    app.state.dead_letters = DeadLetterLog(JsonStateStore(), 50)
    with TestClient(app) as test_client:
        yield test_client


def assert_still_serves(client: TestClient) -> None:
    quote = client.get("/quotes/AAPL")
    assert quote.status_code == 200, quote.text
    assert quote.json() == QUOTE
    letters = client.get("/deadletters", params={"limit": 1000})
    assert letters.status_code == 200, letters.text
    assert isinstance(letters.json(), list)


def original_message() -> dict[str, Any]:
    """A message that went to the dead-letter topic: a CloudEvent of another topic."""
    return {
        "specversion": "1.0",
        "id": str(uuid4()),
        "source": "/trading-engine",
        "type": "ai.active-trader.trade.order-filled.v1",
        "datacontenttype": "application/json",
        "topic": "trade.events",
        "data": {"symbol": "AAPL", "fill_qty": "10"},
    }


def raw_delivery(original: Any) -> dict[str, Any]:
    """A raw-payload delivery as daprd wraps it: the original bytes in ``data_base64``."""
    raw = json.dumps(original).encode()
    return dapr_envelope(
        {
            "specversion": "1.0",
            "id": str(uuid4()),
            "source": "pubsub",
            "type": "com.dapr.event.sent",
            "datacontenttype": "application/octet-stream",
            "data_base64": base64.b64encode(raw).decode(),
        },
        "deadletters",
    )


@st.composite
def dead_letters(draw: st.DrawFn) -> bytes:
    """Deliveries on the dead-letter topic: raw payload (base64 of any bytes: JSON, near-valid
    CloudEvents, not JSON at all), structured, or junk."""
    original = original_message()
    kind = draw(st.sampled_from(("raw bytes", "raw json", "structured")))
    if kind == "raw bytes":
        envelope = raw_delivery(original)
        raw = draw(st.one_of(st.binary(max_size=64), json_bodies(original)))
        envelope["data_base64"] = base64.b64encode(raw).decode()
        return json.dumps(envelope).encode()
    if kind == "raw json":
        return draw(deliveries([raw_delivery(original)]))
    return draw(deliveries([dapr_envelope(original, "deadletters")]))


def test_api_gateway_every_route_is_fuzzed(client: TestClient) -> None:
    assert routes_of(client.app) == FUZZED  # type: ignore[arg-type]
    assert openapi_routes(client.app) <= FUZZED  # type: ignore[arg-type]


@FUZZ_MORE
@given(body=dead_letters())
def test_api_gateway_dead_letter_delivery_junk_is_answered_per_adr4(
    client: TestClient, body: bytes
) -> None:
    with captured_logs() as records:
        response = client.post(
            "/events/deadletters", content=body, headers={"content-type": "application/json"}
        )
    assert_delivery_answer(response, records, f"dead letter {body[:300]!r}")
    assert_still_serves(client)


@FUZZ_MORE
@given(
    segment=st.one_of(
        st.sampled_from(("AAPL", "MSFT", "aapl", ".", "..", "A..", "BRK.B", "A" * 33)),
        path_segments(),
    ),
    query=query_strings({"limit": st.integers().map(str)}),
)
def test_api_gateway_quote_path_junk_is_answered_4xx_with_detail(
    client: TestClient, segment: str, query: str
) -> None:
    response = client.get(f"/quotes/{segment}?{query}")
    assert_clear_answer(response, f"GET /quotes/{segment}?{query[:200]}")
    assert_still_serves(client)


@FUZZ
@given(
    path=st.sampled_from(
        ("/deadletters", "/healthz", "/readyz", "/openapi.json", "/docs", "/dapr/subscribe")
    ),
    method=st.sampled_from(("GET", "POST", "PUT", "DELETE")),
    query=query_strings({"limit": st.integers(-5, 1100).map(str)}),
    body=json_bodies({"limit": 10}),
)
def test_api_gateway_any_method_query_or_body_is_answered_with_detail(
    client: TestClient, path: str, method: str, query: str, body: bytes
) -> None:
    response = client.request(method, f"{path}?{query}", content=body)
    # /readyz is 503 without a sidecar, by design (it names what is missing)
    not_ready = (503,) if path == "/readyz" else ()
    assert_clear_answer(response, f"{method} {path}?{query[:200]}", allowed_5xx=not_ready)
    assert_still_serves(client)


# --- regressions found by the fuzzer --------------------------------------------------------------


def deliver(client: TestClient, envelope: dict[str, Any] | bytes) -> str:
    body = envelope if isinstance(envelope, bytes) else json.dumps(envelope).encode()
    with captured_logs() as records:
        response = client.post("/events/deadletters", content=body)
    return assert_delivery_answer(response, records, "dead letter")


def newest_letter(client: TestClient) -> dict[str, Any]:
    response = client.get("/deadletters", params={"limit": 1})
    assert response.status_code == 200, response.text
    [letter] = response.json()
    return letter  # type: ignore[no-any-return]


@pytest.mark.parametrize("data_base64", [42, None, "%%% not base64 %%%", ["W10="]])
def test_api_gateway_dead_letter_data_base64_not_base64_is_kept_as_given(
    client: TestClient, data_base64: Any
) -> None:
    # was a 500: base64.b64decode raised TypeError / binascii.Error
    envelope = raw_delivery(original_message())
    envelope["data_base64"] = data_base64
    assert deliver(client, envelope) == "SUCCESS"
    letter = newest_letter(client)
    assert letter["id"] == envelope["id"]
    assert letter["payload"] == data_base64


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,  # was a 500: RecursionError decoding it
        b'{"price": NaN, "topic": "trade.events"}',  # was a 500 on GET /deadletters
        b"[" * 40 + b"]" * 40,  # deeper than the log serves as JSON
        b'{"topic": "\\ud800"}',  # was a 500: a lone surrogate cannot be saved as UTF-8
    ],
    ids=["nested-too-deep-to-parse", "not-finite", "nested-deep", "lone-surrogate"],
)
def test_api_gateway_dead_letter_unservable_json_is_kept_as_text(
    client: TestClient, raw: bytes
) -> None:
    envelope = raw_delivery(original_message())
    envelope["data_base64"] = base64.b64encode(raw).decode()
    assert deliver(client, envelope) == "SUCCESS"
    letter = newest_letter(client)
    assert letter["payload"] == raw.decode()
    assert letter["original_topic"] is None


def test_api_gateway_dead_letter_structured_data_with_nan_is_kept_as_text(
    client: TestClient,
) -> None:
    # was a 500 on GET /deadletters: a NaN in the log cannot be written as JSON
    body = b'{"id": "dl-nan", "data": {"price": NaN}}'
    assert deliver(client, body) == "SUCCESS"
    assert newest_letter(client)["payload"] == '{"price": NaN}'


def test_api_gateway_dead_letter_id_not_unicode_gets_an_id_of_its_own(
    client: TestClient,
) -> None:
    # was a 500: the DeadLetter model refused the id
    assert deliver(client, b'{"id": "\\ud800", "data": {"x": 1}}') == "SUCCESS"
    letter = newest_letter(client)
    assert letter["id"].startswith("dl-")
    assert letter["payload"] == {"x": 1}


@pytest.mark.parametrize("field", ["topic", "type"])
def test_api_gateway_dead_letter_topic_or_type_not_text_is_left_out(
    client: TestClient, field: str
) -> None:
    # was a 500: a non-string topic or type broke the DeadLetter model
    original = {**original_message(), field: {"not": "text"}}
    assert deliver(client, raw_delivery(original)) == "SUCCESS"
    letter = newest_letter(client)
    assert letter[f"original_{field}"] is None
    assert letter["payload"][field] == {"not": "text"}


def test_api_gateway_dead_letter_envelope_nested_too_deep_is_dropped_with_reason(
    client: TestClient,
) -> None:
    # was a 500: RecursionError decoding the delivery
    assert deliver(client, b"[" * 100_000 + b"]" * 100_000) == "DROP"


@pytest.mark.parametrize("symbol", ["%2E", "%2E%2E", ".:-"])
def test_api_gateway_quote_symbol_without_letter_or_digit_is_422(
    client: TestClient, symbol: str
) -> None:
    # was an invocation of quotes/. or quotes/.. which the URL resolves to another engine route
    response = client.get(f"/quotes/{symbol}")
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "path.symbol"
