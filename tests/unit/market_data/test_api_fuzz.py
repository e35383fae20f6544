"""Fuzzing the market data HTTP surface (in process, synthetic feed, no sidecar): junk symbols in
the paths, junk query strings (timeframes, RFC 3339 times at the edges of the calendar, limits,
forged page tokens) and junk bodies on every route. Every answer is below 500, a 4xx says what
was wrong, and the app still serves a valid read afterwards. (The app has no pub/sub
subscription: it only publishes.)"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from market_data.main import create_app
from tests.support.fuzz import (
    FUZZ,
    FUZZ_MORE,
    JsonEventBus,
    JsonStateStore,
    assert_clear_answer,
    json_bodies,
    json_values,
    near_valid,
    openapi_routes,
    path_segments,
    query_strings,
    routes_of,
    times,
)
from tests.unit.market_data.test_app import settings

SYMBOL_ROUTES = (
    "/quotes/{symbol}/latest",
    "/bars/{symbol}/latest",
    "/bars/{symbol}",
    "/assets/{symbol}",
)
FUZZED = {
    ("GET", "/quotes/{symbol:path}/latest"),
    ("GET", "/bars/{symbol:path}/latest"),
    ("GET", "/bars/{symbol:path}"),
    ("GET", "/assets/{symbol:path}"),
    ("GET", "/news"),
    ("GET", "/feed"),
    ("GET", "/connectors"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}
PLAIN_ROUTES = ("/feed", "/connectors", "/healthz", "/readyz", "/openapi.json", "/docs", "/redoc")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(
        settings(log_level="WARNING"), publisher=JsonEventBus(), state=JsonStateStore()
    )
    with TestClient(app) as test_client:
        yield test_client


def assert_still_serves(client: TestClient) -> None:
    response = client.get("/quotes/AAPL/latest")
    assert response.status_code == 200, response.text
    assert response.json()["quote"]["symbol"] == "AAPL"


@st.composite
def page_tokens(draw: st.DrawFn) -> str:
    """Tokens shaped like the service's own (base64 of JSON), with junk inside, or plain junk."""
    issued = {
        "v": 1,
        "q": "0123456789abcdef",
        "after": "2024-01-02T14:30:00+00:00",
        "end": "2024-01-05T00:00:00+00:00",
    }
    body = json.dumps(draw(near_valid(issued)), allow_nan=True).encode()
    token = base64.urlsafe_b64encode(body).decode().rstrip("=")
    return draw(st.one_of(st.just(token), st.text(max_size=60), st.just(token[:-3] + "!!!")))


RECENT = st.integers(1, 600).map(
    lambda minutes: (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()
)
SYMBOLS = st.sampled_from(("AAPL", "msft", "BTC/USD", "SPY", "ZZZZ", "aapl ", ",", ""))
BAR_QUERY = {
    "timeframe": st.sampled_from(("1Min", "5Min", "1Day", "1min", "1Week", "")),
    "start": st.one_of(RECENT, times()),
    "end": st.one_of(RECENT, times()),
    "limit": st.integers(-5, 2000).map(str),
    "page_token": page_tokens(),
}
NEWS_QUERY = {
    "symbols": st.lists(SYMBOLS, max_size=4).map(",".join),
    "start": st.one_of(RECENT, times()),
    "end": st.one_of(RECENT, times()),
    "limit": st.integers(-5, 500).map(str),
}


def test_market_data_every_route_is_fuzzed(client: TestClient) -> None:
    app = client.app
    assert routes_of(app) == FUZZED  # type: ignore[arg-type]
    documented = {(m, p.replace("{symbol}", "{symbol:path}")) for m, p in openapi_routes(app)}  # type: ignore[arg-type]
    assert documented <= FUZZED


@FUZZ
@given(
    route=st.sampled_from(SYMBOL_ROUTES),
    segments=st.lists(path_segments(), min_size=1, max_size=3),
    query=query_strings(BAR_QUERY),
)
def test_market_data_symbol_path_junk_is_answered_4xx_with_detail(
    client: TestClient, route: str, segments: list[str], query: str
) -> None:
    path = route.replace("{symbol}", "/".join(segments))
    response = client.get(f"{path}?{query}")
    assert_clear_answer(response, f"GET {path}?{query[:200]}")
    assert_still_serves(client)


@FUZZ_MORE
@given(
    symbol=st.sampled_from(("AAPL", "msft", "BTC%2FUSD", "SPY")),
    query=query_strings(BAR_QUERY),
)
def test_market_data_bars_query_junk_is_answered_4xx_with_detail(
    client: TestClient, symbol: str, query: str
) -> None:
    response = client.get(f"/bars/{symbol}?{query}")
    assert_clear_answer(response, f"GET /bars/{symbol}?{query[:200]}")
    assert_still_serves(client)


@FUZZ_MORE
@given(query=query_strings(NEWS_QUERY))
def test_market_data_news_query_junk_is_answered_4xx_with_detail(
    client: TestClient, query: str
) -> None:
    response = client.get(f"/news?{query}")
    assert_clear_answer(response, f"GET /news?{query[:200]}")
    assert_still_serves(client)


@FUZZ
@given(
    path=st.sampled_from((*PLAIN_ROUTES, "/quotes/AAPL/latest", "/news", "/dapr/subscribe")),
    method=st.sampled_from(("GET", "POST", "PUT", "DELETE", "PATCH")),
    query=query_strings({"limit": st.integers().map(str)}),
    body=json_bodies({"symbol": "AAPL"}),
)
def test_market_data_any_method_query_or_body_is_answered_with_detail(
    client: TestClient, path: str, method: str, query: str, body: bytes
) -> None:
    response = client.request(
        method, f"{path}?{query}", content=body, headers={"content-type": "application/json"}
    )
    # /readyz is 503 without a sidecar, by design (it names what is missing)
    assert_clear_answer(
        response, f"{method} {path}", allowed_5xx=(503,) if path == "/readyz" else ()
    )
    assert_still_serves(client)


@FUZZ
@given(value=json_values())
def test_market_data_json_query_values_are_answered_4xx_with_detail(
    client: TestClient, value: object
) -> None:
    text = json.dumps(value, allow_nan=True)
    response = client.get("/bars/AAPL", params={"timeframe": text, "start": text, "limit": text})
    assert_clear_answer(response, f"GET /bars/AAPL with {text[:200]}")


# --- regressions found by the fuzzer --------------------------------------------------------------


@pytest.mark.parametrize("end", ["0001-01-01T00:00:00+01:00", "0001-01-03T00:00:00Z"])
def test_market_data_news_end_in_first_week_of_year_1_is_400_with_detail(
    client: TestClient, end: str
) -> None:
    # was a 500: the default start (a week before end) is before year 1
    response = client.get("/news", params={"symbols": "AAPL", "end": end})
    assert response.status_code == 400
    assert "no week before it" in response.json()["detail"]


@pytest.mark.parametrize("end", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_market_data_bars_page_token_end_outside_utc_years_is_400_with_detail(
    client: TestClient, end: str
) -> None:
    # was a 500: the token's end could not be converted to UTC (OverflowError)
    body = {"v": 1, "q": "0123456789abcdef", "after": "2024-01-02T14:30:00Z", "end": end}
    token = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    response = client.get(
        "/bars/AAPL",
        params={"timeframe": "1Min", "start": "2024-01-02T00:00:00Z", "page_token": token},
    )
    assert response.status_code == 400
    assert "page_token" in response.json()["detail"]
