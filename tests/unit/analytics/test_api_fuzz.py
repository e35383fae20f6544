"""Fuzzing the analytics HTTP surface (in process: the read API over an in-memory read model,
the delivery routes over an in-memory store, real charts; no PostgreSQL, no sidecar): junk query
strings on every analysis (accounts, strategies, symbols, times at the edges of the calendar,
enums, limits, windows, forged page tokens), junk chart paths, junk on the rebuild route, and
junk trade, position and market event deliveries (answered per ADR 4: DROP with the reason
logged, never a 500). Afterwards the app still serves the metrics."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from analytics.adapters.charts import MatplotlibChartRenderer
from analytics.domain.facts import EventFacts
from analytics.domain.points import PricePoint
from analytics.domain.trades import ClosedTrade
from analytics.main import create_app
from analytics.service.performance import PerformanceService
from analytics.service.ports import PerformanceQuery
from analytics.service.queries import AnalyticsQueries
from analytics.service.read_model import LoggedEvent, ReadModelService, RebuildResult
from analytics.settings import AnalyticsSettings
from tests.fakes.server import free_port
from tests.support.fuzz import (
    FUZZ,
    FUZZ_MORE,
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
from tests.unit.analytics.test_analytics_queries import T0, FakeReadModel
from trader_common.cloudevents import to_cloud_event
from trader_common.contracts import (
    BarClosed,
    Event,
    OrderFilled,
    OrderSide,
    PositionChanged,
    QuoteUpdated,
)
from trader_common.settings import SidecarSettings

D = Decimal
FUZZED = {
    ("GET", "/metrics"),
    ("GET", "/equity"),
    ("GET", "/pnl"),
    ("GET", "/drawdowns"),
    ("GET", "/rolling"),
    ("GET", "/charts/{kind}.{fmt}"),
    ("POST", "/admin/rebuild"),
    ("POST", "/events/trade"),
    ("POST", "/events/positions"),
    ("POST", "/events/market"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


@dataclass
class FakeReadModelWithTrades(FakeReadModel):
    """The read side of tests/unit/analytics/test_analytics_queries.py, with closed trades and
    benchmark closes."""

    async def closed_trades(self, query: PerformanceQuery) -> Sequence[ClosedTrade]:
        return [
            ClosedTrade("momentum", "AAPL", p.at, D(n % 3 - 1) * 10)
            for n, p in enumerate(self.points)
        ]

    async def closes(
        self, symbol: str, start: datetime | None, end: datetime | None
    ) -> Sequence[PricePoint]:
        return [PricePoint(p.at, D(400 + n)) for n, p in enumerate(self.points)] if symbol else []


@dataclass
class FakeStore:
    """The event log and projections as ``ReadModelStore`` sees them (once per event id)."""

    logged: dict[str, LoggedEvent] = field(default_factory=dict)

    async def apply(self, logged: LoggedEvent, facts: EventFacts) -> bool:
        json.dumps(logged.payload, allow_nan=False)  # the event log column is JSON
        if str(logged.event_id) in self.logged:
            return False
        self.logged[str(logged.event_id)] = logged
        return True

    async def rebuild(
        self, facts_of_payload: Callable[[str, Mapping[str, Any]], EventFacts | None]
    ) -> RebuildResult:
        applied = sum(
            1 for e in self.logged.values() if facts_of_payload(e.type, e.payload) is not None
        )
        return RebuildResult(events=len(self.logged), applied=applied, skipped=0)


@pytest.fixture(scope="module")
def client() -> TestClient:
    settings = AnalyticsSettings(
        database_dsn="postgresql://nobody@127.0.0.1:9/none",
        log_json=False,
        log_level="WARNING",
        sidecar=SidecarSettings(http_port=free_port()),
    )
    app = create_app(settings)
    model = FakeReadModelWithTrades()
    app.state.queries = AnalyticsQueries(
        model,
        PerformanceService(model, model, benchmarks=model, charts=MatplotlibChartRenderer()),
    )
    app.state.ingestion = ReadModelService(
        FakeStore(), default_account_id="paper", starting_cash_of=lambda _: D(100_000)
    )
    # no start-up: it would wait for PostgreSQL
    return TestClient(app)


def assert_still_serves(client: TestClient) -> None:
    response = client.get("/metrics", params={"account_id": "paper"})
    assert response.status_code == 200, response.text
    assert response.json()["metrics"]["periods"] > 0


def event_envelopes() -> list[dict[str, Any]]:
    at = T0 + timedelta(days=1)
    events: list[tuple[Event, str]] = [
        (
            OrderFilled(
                order_id=uuid4(),
                client_order_id="c-1:AAPL",
                strategy_id="momentum",
                symbol="AAPL",
                ts_event=at,
                fill_id=uuid4(),
                side=OrderSide.BUY,
                fill_qty=D(10),
                fill_price=D("101.5"),
                fee=D("0.1"),
                filled_qty=D(10),
                avg_fill_price=D("101.5"),
            ),
            "trade.events",
        ),
        (
            PositionChanged(
                account_id="paper",
                strategy_id="momentum",
                symbol="AAPL",
                ts_event=at,
                qty=D(10),
                avg_entry_price=D("101.5"),
                market_price=D(102),
                realized_pnl=D(0),
                unrealized_pnl=D(5),
                fees=D("0.1"),
            ),
            "position.updates",
        ),
        (
            QuoteUpdated(
                symbol="AAPL",
                source="t",
                ts_event=at,
                bid=D(101),
                ask=D(102),
                bid_size=D(1),
                ask_size=D(1),
            ),
            "market.events",
        ),
        (
            BarClosed(
                symbol="AAPL",
                source="t",
                timeframe="1Day",
                ts_open=at - timedelta(days=1),
                ts_event=at,
                open=D(100),
                high=D(103),
                low=D(99),
                close=D(102),
                volume=D(1000),
            ),
            "market.events",
        ),
    ]
    return [dapr_envelope(to_cloud_event(e, "/trading-engine"), topic) for e, topic in events]


@st.composite
def equity_tokens(draw: st.DrawFn) -> str:
    issued = {"v": 1, "q": "0123456789abcdef", "after": "2024-03-05T15:00:00+00:00"}
    body = json.dumps(draw(near_valid(issued)), allow_nan=True).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


ACCOUNTS = st.sampled_from(("paper", "paper", "nobody", "x" * 129))
SCOPE = {
    "account_id": ACCOUNTS,
    "strategy_id": st.sampled_from(("momentum", "x", "x" * 65)),
    "symbol": st.sampled_from(("AAPL", "aapl", "ZZ", "BTC/USD")),
    "start": st.one_of(st.just(T0.isoformat()), times()),
    "end": st.one_of(st.just((T0 + timedelta(days=20)).isoformat()), times()),
}
ROUTE_QUERIES: dict[str, dict[str, st.SearchStrategy[str]]] = {
    "/metrics": {**SCOPE, "benchmark": st.sampled_from(("SPY", "spy", ""))},
    "/equity": {
        **{k: v for k, v in SCOPE.items() if k != "symbol"},
        "resolution": st.sampled_from(("event", "day", "minute")),
        "limit": st.integers(-5, 6000).map(str),
        "page_token": equity_tokens(),
    },
    "/pnl": {**SCOPE, "by": st.sampled_from(("symbol", "strategy", "day", "week", "month", "x"))},
    "/drawdowns": {**SCOPE, "top": st.integers(-5, 1100).map(str)},
    "/rolling": {**SCOPE, "window": st.integers(-1, 10_001).map(str)},
}


def test_analytics_every_route_is_fuzzed(client: TestClient) -> None:
    assert routes_of(client.app) == FUZZED  # type: ignore[arg-type]
    assert openapi_routes(client.app) <= FUZZED  # type: ignore[arg-type]


@FUZZ_MORE
@given(
    query=st.sampled_from(sorted(ROUTE_QUERIES)).flatmap(
        lambda path: st.tuples(st.just(path), query_strings(ROUTE_QUERIES[path]))
    )
)
def test_analytics_analysis_query_junk_is_answered_4xx_with_detail(
    client: TestClient, query: tuple[str, str]
) -> None:
    path, text = query
    response = client.get(f"{path}?{text}")
    assert_clear_answer(response, f"GET {path}?{text[:300]}")
    assert_still_serves(client)


@FUZZ
@given(
    kind=st.one_of(st.sampled_from(("equity", "monthly", "pnl-by-symbol")), path_segments()),
    fmt=st.one_of(st.sampled_from(("png", "svg", "pdf")), path_segments()),
    query=query_strings({k: v for k, v in SCOPE.items() if k != "symbol"}),
)
def test_analytics_chart_path_and_query_junk_is_answered_4xx_with_detail(
    client: TestClient, kind: str, fmt: str, query: str
) -> None:
    path = f"/charts/{kind}.{fmt}"
    response = client.get(f"{path}?{query}")
    assert_clear_answer(response, f"GET {path}?{query[:300]}")


@FUZZ_MORE
@given(
    path=st.sampled_from(("/events/trade", "/events/positions", "/events/market")),
    body=deliveries(event_envelopes()),
)
def test_analytics_delivery_junk_is_dropped_with_reason(
    client: TestClient, path: str, body: bytes
) -> None:
    with captured_logs() as records:
        response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert_delivery_answer(response, records, f"{path} {body[:300]!r}")
    assert_still_serves(client)


@FUZZ
@given(
    path=st.sampled_from(
        ("/admin/rebuild", "/healthz", "/readyz", "/openapi.json", "/metrics", "/dapr/subscribe")
    ),
    method=st.sampled_from(("GET", "POST", "PUT", "DELETE")),
    query=query_strings({"account_id": texts()}),
    body=json_bodies({"confirm": True}),
)
def test_analytics_any_method_query_or_body_is_answered_with_detail(
    client: TestClient, path: str, method: str, query: str, body: bytes
) -> None:
    response = client.request(method, f"{path}?{query}", content=body)
    # /readyz is 503 without a sidecar and a database, by design (it names what is missing)
    not_ready = (503,) if path == "/readyz" else ()
    assert_clear_answer(response, f"{method} {path}?{query[:300]}", allowed_5xx=not_ready)
    assert_still_serves(client)


# --- regressions found by the fuzzer --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/pnl", "/metrics", "/equity", "/charts/equity.svg"])
@pytest.mark.parametrize("bound", ["start", "end"])
def test_analytics_time_outside_utc_years_is_422_naming_it(
    client: TestClient, path: str, bound: str
) -> None:
    # was a 500 on /pnl: converting the bound to a UTC day raised OverflowError
    moment = "0001-01-01T00:00:00+01:00" if bound == "end" else "9999-12-31T23:59:59-01:00"
    response = client.get(path, params={bound: moment})
    assert response.status_code == 422
    assert response.json()["detail"] == f"{bound} {moment} is outside years 1-9999 in UTC"


def test_analytics_pnl_end_before_the_first_day_closes_is_422_with_detail(
    client: TestClient,
) -> None:
    # was a 500: the last day in range was the day before 0001-01-01 (OverflowError)
    response = client.get("/pnl", params={"end": "0001-01-01T00:00:00Z"})
    assert response.status_code == 422
    assert "no day ends by 0001-01-01T00:00:00+00:00" in response.json()["detail"]
