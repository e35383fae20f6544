"""The analytics REST API over the real read model on PostgreSQL: events delivered to the
subscription routes as CloudEvents, then metrics, the paged equity curve, P&L breakdowns,
drawdowns, rolling statistics, charts, the rebuild, and clear 4xx answers for bad requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from analytics.main import create_app
from analytics.settings import AnalyticsSettings
from tests.integration.analytics.builders import day, fill, scenario
from trader_cli.infra import PostgresServer
from trader_common.cloudevents import to_cloud_event
from trader_common.contracts import Event, QuoteUpdated

pytestmark = pytest.mark.integration

ROUTES = {
    "trade.events": "/events/trade",
    "position.updates": "/events/positions",
    "market.events": "/events/market",
}
PNG = b"\x89PNG\r\n\x1a\n"


async def _database(postgres: PostgresServer) -> tuple[str, str]:
    name = f"analytics_api_{uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(postgres.dsn, autocommit=True) as admin:
        await admin.execute(f"CREATE DATABASE {name}".encode())
    return name, make_conninfo(postgres.dsn, dbname=name)


async def _drop(postgres: PostgresServer, name: str) -> None:
    async with await psycopg.AsyncConnection.connect(postgres.dsn, autocommit=True) as admin:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


@pytest.fixture(scope="module")
async def api(postgres: PostgresServer) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a fresh database, fed the scenario through its delivery routes."""
    name, dsn = await _database(postgres)
    app = create_app(AnalyticsSettings(database_dsn=dsn, log_json=False))
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        )
        for event in scenario():
            answer = await deliver(client, event)
            assert answer == {"status": "SUCCESS"}
        yield client
    await _drop(postgres, name)


async def deliver(client: httpx.AsyncClient, event: Event | dict[str, Any] | bytes) -> Any:
    if isinstance(event, Event):
        route = ROUTES[str(event.topic)]
        body: Any = to_cloud_event(event, "/test")
    else:
        route, body = "/events/trade", event
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    response = await client.post(
        route, content=content, headers={"content-type": "application/cloudevents+json"}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


# -- delivery --------------------------------------------------------------------------------


async def test_api_delivery_applies_once_and_drops_bad_input(
    postgres: PostgresServer,
) -> None:
    name, dsn = await _database(postgres)
    app = create_app(AnalyticsSettings(database_dsn=dsn, log_json=False))
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c,
        ):
            good = fill(day(0, 1), "buy", "10", "100", fee="1")
            envelope = to_cloud_event(good, "/test")
            assert await deliver(c, good) == {"status": "SUCCESS"}
            assert await deliver(c, good) == {"status": "SUCCESS"}  # redelivered: a no-op
            assert await deliver(c, b"\x00 not json") == {"status": "DROP"}
            unknown = {**envelope, "id": str(uuid4()), "type": "ai.active-trader.nope.v1"}
            assert await deliver(c, unknown) == {"status": "DROP"}
            violation = {**envelope, "id": str(uuid4()), "data": {**envelope["data"], "fee": "-1"}}
            assert await deliver(c, violation) == {"status": "DROP"}
            unstorable = fill(day(0, 2), "buy", "1", "100", strategy="nul\x00")
            assert await deliver(c, unstorable) == {"status": "DROP"}
            after = QuoteUpdated(
                ts_event=day(0, 3),
                symbol="AAPL",
                source="t",
                bid=110,
                ask=112,
                bid_size=1,
                ask_size=1,
            )
            assert await deliver(c, after) == {"status": "SUCCESS"}

            page = await get(c, "/equity")
            assert [p["equity"] for p in page["points"]] == ["99999", "100109"]
    finally:
        await _drop(postgres, name)


# -- reads -----------------------------------------------------------------------------------


async def test_api_metrics_of_account_strategy_and_symbol(api: httpx.AsyncClient) -> None:
    body = await get(api, "/metrics")
    daily = await get(api, "/equity", resolution="day")
    equities = [Decimal(point["equity"]) for point in daily["points"]]
    assert body["metrics"]["periods"] == len(equities) - 1
    assert body["metrics"]["total_return"] == pytest.approx(float(equities[-1] / equities[0] - 1))
    assert body["metrics"]["exposure_basis"] == "positions"
    assert body["trades"]["trades"] == 4  # AAPL, MSFT long, MSFT short (flip), NVDA short
    assert body["scope"] == {
        "account_id": "paper",
        "strategy_id": None,
        "symbol": None,
        "start": None,
        "end": None,
    }

    with_benchmark = await get(api, "/metrics", benchmark="SPY")
    assert with_benchmark["benchmark"]["symbol"] == "SPY"
    assert with_benchmark["benchmark"]["periods"] >= 2
    assert with_benchmark["metrics"]["beta"] is not None

    strategy = await get(api, "/metrics", strategy_id="meanrev")
    assert strategy["trades"]["trades"] == 2
    symbol = await get(api, "/metrics", symbol="AAPL")
    assert symbol["trades"]["trades"] == 1


async def test_api_equity_pages_cover_the_curve_exactly_once(api: httpx.AsyncClient) -> None:
    whole = await get(api, "/equity", limit=5000)
    assert whole["next_page_token"] is None
    collected: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 7}
    while True:
        page = await get(api, "/equity", **params)
        assert len(page["points"]) <= 7
        collected += page["points"]
        if page["next_page_token"] is None:
            break
        params["page_token"] = page["next_page_token"]
    assert collected == whole["points"]
    times = [point["at"] for point in collected]
    assert times == sorted(set(times))
    first = whole["points"][0]
    assert Decimal(first["equity"]) == Decimal(first["cash"]) + Decimal(first["net_exposure"])

    token = (await get(api, "/equity", limit=3))["next_page_token"]
    other = await api.get(
        "/equity", params={"limit": 3, "page_token": token, "strategy_id": "meanrev"}
    )
    assert other.status_code == 422
    assert "different query" in other.json()["detail"]


async def test_api_pnl_breakdowns_add_up_to_the_equity_change(api: httpx.AsyncClient) -> None:
    daily = (await get(api, "/equity", resolution="day"))["points"]
    total = Decimal(daily[-1]["equity"]) - Decimal(100_000)
    for by in ("symbol", "strategy", "day", "week", "month"):
        rows = (await get(api, "/pnl", by=by))["rows"]
        assert sum(Decimal(row["net_pnl"]) for row in rows) == total, by
    by_symbol = {row["key"]: row for row in (await get(api, "/pnl", by="symbol"))["rows"]}
    assert sorted(by_symbol) == ["AAPL", "MSFT", "NVDA"]
    assert by_symbol["NVDA"]["trades"]["trades"] == 1
    assert Decimal(by_symbol["NVDA"]["net_pnl"]) == Decimal("24.80")  # 10 x 2.50 - 0.20 fees
    weeks = (await get(api, "/pnl", by="week"))["rows"]
    assert [row["key"] for row in weeks] == ["2024-03-04", "2024-03-11"]
    assert all(row["period_return"] is not None for row in weeks)


async def test_api_drawdowns_rolling_and_charts(api: httpx.AsyncClient) -> None:
    drawdowns = (await get(api, "/drawdowns", top=2))["drawdowns"]
    assert 1 <= len(drawdowns) <= 2
    assert all(row["depth"] < 0 for row in drawdowns)
    rolling = await get(api, "/rolling", window=3)
    assert rolling["window"] == 3
    assert rolling["points"][0]["sharpe"] is None  # before the first full window
    assert rolling["points"][-1]["volatility"] is not None

    png = await api.get("/charts/equity.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(PNG)
    svg = await api.get("/charts/monthly.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    bars = await api.get("/charts/pnl-by-symbol.png", params={"strategy_id": "momentum"})
    assert bars.status_code == 200
    assert bars.content.startswith(PNG)


@pytest.mark.parametrize(
    ("path", "params", "says"),
    [
        ("/metrics", {"strategy_id": "nope"}, "unknown strategy 'nope'"),
        ("/equity", {"account_id": "nobody"}, "unknown account 'nobody'"),
        ("/pnl", {"symbol": "ZZZZ"}, "no fills of 'ZZZZ'"),
        ("/charts/equity.png", {"strategy_id": "nope"}, "unknown strategy"),
        ("/metrics", {"start": "2030-01-01T00:00:00Z"}, "equity point"),
        ("/metrics", {"benchmark": "QQQ"}, "no prices for benchmark 'QQQ'"),
    ],
)
async def test_api_unknown_scope_or_no_data_is_404(
    api: httpx.AsyncClient, path: str, params: dict[str, str], says: str
) -> None:
    response = await api.get(path, params=params)
    assert response.status_code == 404, response.text
    assert says in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/metrics", {"start": "2024-03-08T00:00:00Z", "end": "2024-03-05T00:00:00Z"}),
        ("/equity", {"start": "2024-03-05T00:00:00Z", "end": "2024-03-05T00:00:00Z"}),
        ("/metrics", {"start": "2024-03-05T00:00:00"}),
        ("/pnl", {"by": "hour"}),
        ("/pnl", {"start": "2024-03-05T10:00:00Z", "end": "2024-03-05T12:00:00Z"}),
        ("/equity", {"limit": "0"}),
        ("/equity", {"limit": "100000"}),
        ("/equity", {"resolution": "minute"}),
        ("/equity", {"page_token": "garbage"}),
        ("/rolling", {"window": "1"}),
        ("/rolling", {"window": "500"}),
        ("/drawdowns", {"top": "0"}),
        ("/metrics", {"symbol": "aapl"}),
        ("/charts/pie.png", {}),
        ("/charts/equity.gif", {}),
    ],
)
async def test_api_bad_parameter_is_422_with_a_reason(
    api: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    response = await api.get(path, params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid request"
    assert body.get("detail") or body.get("problems")


async def test_api_rebuild_keeps_every_answer(api: httpx.AsyncClient) -> None:
    before = [
        await get(api, "/equity", limit=5000),
        await get(api, "/pnl", by="day"),
        await get(api, "/metrics", benchmark="SPY"),
    ]
    response = await api.post("/admin/rebuild")
    assert response.status_code == 200
    counts = response.json()
    assert counts["events"] == counts["applied"] == len(scenario()) - 1
    assert counts["skipped"] == 0
    after = [
        await get(api, "/equity", limit=5000),
        await get(api, "/pnl", by="day"),
        await get(api, "/metrics", benchmark="SPY"),
    ]
    assert after == before


async def test_api_openapi_documents_every_route(api: httpx.AsyncClient) -> None:
    document = await get(api, "/openapi.json")
    paths = document["paths"]
    for path in ("/metrics", "/equity", "/pnl", "/drawdowns", "/rolling", "/charts/{kind}.{fmt}"):
        operation = paths[path]["get"]
        assert {"200", "404", "422"} <= set(operation["responses"]), path
        assert operation["summary"]
        for parameter in operation["parameters"]:
            assert parameter.get("description") or parameter["in"] == "path", (path, parameter)
    assert set(paths["/charts/{kind}.{fmt}"]["get"]["responses"]["200"]["content"]) >= {
        "image/png",
        "image/svg+xml",
    }
    assert "/admin/rebuild" in paths
    assert "/events/trade" not in paths  # delivery routes are for daprd only


async def test_api_readiness_includes_the_database(api: httpx.AsyncClient) -> None:
    response = await api.get("/readyz")
    assert response.status_code == 503  # no sidecar in this test
    detail = response.json()["detail"]
    assert "sidecar unreachable" in detail
    assert "database" not in detail  # the database answers


async def test_readiness_unreachable_database_is_not_ready() -> None:
    from analytics.adapters.database import Database
    from analytics.adapters.readiness import database_readiness
    from trader_cli.netutil import free_port
    from trader_common.app import DaprPlatform, build_app

    database = Database(f"host=127.0.0.1 port={free_port()} user=trader dbname=trader")
    settings = AnalyticsSettings(database_dsn="host=unused", log_json=False)
    settings.sidecar.http_port = free_port()
    app = build_app(
        settings,
        title="readiness",
        description="readiness",
        platform=DaprPlatform.from_settings(settings, ("pubsub",)),
        readiness_checks=[database_readiness(database)],
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        response = await client.get("/readyz")
    health = response.json()
    assert response.status_code == 503
    assert "sidecar unreachable" in health["detail"]
    assert "database unavailable" in health["detail"]


async def test_api_start_without_a_reachable_database_fails_clearly() -> None:
    from trader_cli.netutil import free_port
    from trader_common.ports import PlatformUnavailableError

    dsn = f"host=127.0.0.1 port={free_port()} user=trader dbname=trader"
    app = create_app(
        AnalyticsSettings(database_dsn=dsn, database_startup_wait_seconds=0, log_json=False)
    )
    with pytest.raises(PlatformUnavailableError, match="database unavailable"):
        async with app.router.lifespan_context(app):
            pass


async def test_api_late_event_is_delivered_in_its_place(postgres: PostgresServer) -> None:
    name, dsn = await _database(postgres)
    app = create_app(AnalyticsSettings(database_dsn=dsn, log_json=False))
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as c,
        ):
            await deliver(c, fill(day(0, 1), "buy", "10", "100"))
            await deliver(c, fill(day(1, 1), "sell", "10", "120"))
            await deliver(c, fill(day(0, 2), "buy", "10", "110"))  # arrives last
            await deliver(c, fill(day(1, 2), "sell", "10", "120"))
            row = (await get(c, "/pnl", by="symbol"))["rows"][0]
            assert Decimal(row["realized_pnl"]) == Decimal(300)  # 10 x (120 - 105), twice
    finally:
        await _drop(postgres, name)
