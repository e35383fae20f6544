"""The Dapr publisher's wire format and ordering, against an in-process fake of daprd's HTTP API.

The fast serialization (``cloud_event_json``, ``bulk_publish_body``) must give the very bytes of
the reference path (``to_cloud_event`` / ``bulk_publish_entries`` through ``json.dumps`` as
httpx sends them), for every event type; bulk publishes must keep each partition key's order
(one event per key per request, requests one after the other) and publish each event once.
"""

from __future__ import annotations

import asyncio
import json
import typing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trader_common.adapters.dapr import (
    DaprEventPublisher,
    DaprSidecar,
    bulk_publish_body,
    bulk_publish_entries,
)
from trader_common.cloudevents import (
    CLOUDEVENTS_CONTENT_TYPE,
    cloud_event_json,
    dumps_compact,
    from_cloud_event,
    to_cloud_event,
)
from trader_common.contracts import (
    BarClosed,
    BrokerPositionsDiverged,
    BrokerPositionsRealigned,
    ConnectorHealthChanged,
    DecisionMade,
    Event,
    OperationalStateChanged,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderReplaced,
    PositionChanged,
    PositionDifference,
    QuoteUpdated,
    ServiceStarted,
    TradePrinted,
    TradingStateChanged,
)
from trader_common.contracts.registry import EVENT_TYPES
from trader_common.ports import PlatformUnavailableError

NOW = datetime(2026, 11, 24, 15, 30, 0, 123456, tzinfo=UTC)
# Text that JSON encoders are known to write differently if they differ at all: quotes,
# backslashes, control characters, non-ASCII (kept as UTF-8), the JS line separators, HTML.
TRICKY = 'a "quoted" \\ back\nslash\t\x01\x1f é € 📈 \u2028\u2029 <b>&amp;</b> \x7f'


def every_event_type() -> list[Event]:
    order = {
        "order_id": uuid4(),
        "client_order_id": "cid-" + TRICKY,
        "strategy_id": "strat-é",
        "symbol": "BRK.B",
        "ts_event": NOW,
    }
    market = {"symbol": "BTC/USD", "source": TRICKY, "ts_event": NOW}
    system = {"service": "market-data", "ts_event": NOW}
    return [
        QuoteUpdated(**market, bid=Decimal("0.0001"), ask=Decimal("1E+2"), bid_size=0, ask_size=7),
        TradePrinted(**market, price=Decimal("187.30"), size=Decimal("0.00000001")),
        BarClosed(
            **{**market, "ts_event": NOW},
            timeframe="1Min",
            ts_open=NOW - timedelta(minutes=1),
            open=Decimal(10),
            high=Decimal("10.5"),
            low=Decimal("9.99"),
            close=Decimal("10.25"),
            volume=Decimal(0),
        ),
        OrderAccepted(
            **order,
            side="buy",
            order_type="limit",
            time_in_force="gtc",
            qty=Decimal(5),
            limit_price=Decimal("99.5"),
            expires_at=NOW + timedelta(days=1),
        ),
        OrderRejected(**order, reason=TRICKY),
        OrderPartiallyFilled(
            **order,
            fill_id=uuid4(),
            side="sell",
            fill_qty=Decimal(1),
            fill_price=Decimal("100.01"),
            fee=Decimal(0),
            filled_qty=Decimal(1),
            leaves_qty=Decimal(4),
        ),
        OrderFilled(
            **order,
            fill_id=uuid4(),
            side="buy",
            fill_qty=Decimal(4),
            fill_price=Decimal("100"),
            fee=Decimal("0.01"),
            filled_qty=Decimal(5),
            avg_fill_price=Decimal("100.002"),
        ),
        OrderCanceled(**order, reason="", filled_qty=Decimal(0)),
        OrderExpired(**order, filled_qty=Decimal(0), reason=TRICKY),
        OrderReplaced(**order, replaced_by=uuid4()),
        DecisionMade(
            decision_id=uuid4(),
            request_id=uuid4(),
            strategy_id='stratégie "x" \\ 📈',
            symbol="AAPL",
            action="buy",
            qty=Decimal(3),
            confidence=Decimal("0.75"),
            horizon="1d",
            rationale=TRICKY,
            provider="test",
            model="m",
            ts_event=NOW,
        ),
        PositionChanged(
            account_id="acct",
            strategy_id="s1",
            symbol="AAPL",
            qty=Decimal(-3),
            avg_entry_price=Decimal("10.1"),
            market_price=Decimal("10.2"),
            realized_pnl=Decimal("-0.30"),
            unrealized_pnl=Decimal("0"),
            fees=Decimal("0.02"),
            ts_event=NOW,
        ),
        ServiceStarted(**system, service_version=TRICKY),
        TradingStateChanged(
            **system,
            scope="global",
            previous="active",
            current="halted",
            reason=TRICKY,
        ),
        ConnectorHealthChanged(**system, connector="alpaca", previous="healthy", current="down"),
        OperationalStateChanged(
            **system, scope="s-é", previous="running", current="paused", reason=TRICKY
        ),
        BrokerPositionsDiverged(
            **system,
            broker="alpaca",
            differences=(
                PositionDifference(
                    symbol="BTC/USD", engine_qty=Decimal("0.5"), broker_qty=Decimal("-1E-9")
                ),
            ),
        ),
        BrokerPositionsRealigned(**system, broker=TRICKY),
    ]


def test_fast_path_samples_cover_every_event_type() -> None:
    assert {type(e) for e in every_event_type()} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", every_event_type(), ids=lambda e: e.cloud_event_type())
def test_cloud_event_json_is_byte_identical_to_the_reference_serialization(event: Event) -> None:
    for source in ("/market-data", '/src-é "q"'):
        fast = cloud_event_json(event, source)
        assert fast == dumps_compact(to_cloud_event(event, source))
        assert json.loads(fast) == to_cloud_event(event, source)
        assert from_cloud_event(json.loads(fast)) == event


def test_event_models_have_no_float_fields() -> None:
    # cloud_event_json relies on it: pydantic and json write some floats differently (1e16).
    for cls in EVENT_TYPES:
        for name, field in cls.model_fields.items():
            assert "float" not in str(field.annotation), f"{cls.__name__}.{name} is a float"


def test_bulk_publish_body_is_byte_identical_to_the_reference_entries() -> None:
    events = every_event_type()
    body = bulk_publish_body(events, "/x")
    assert body == dumps_compact(bulk_publish_entries(events, "/x"))
    # ... which is what httpx sends for ``json=`` (the previous request body).
    sent = httpx.Request("POST", "http://d/", json=bulk_publish_entries(events, "/x")).content
    assert body == sent
    entries = json.loads(body)
    assert [e["entryId"] for e in entries] == [str(i) for i in range(len(events))]
    assert all(e["contentType"] == CLOUDEVENTS_CONTENT_TYPE for e in entries)
    assert [e["metadata"]["partitionKey"] for e in entries] == [e.partition_key() for e in events]


# --- publish_many against a fake sidecar ---------------------------------------------------------


class FakeSidecar:
    """Records bulk requests; answers 204 (or what ``fail_on`` says), tracking concurrency."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.requests: list[list[dict[str, typing.Any]]] = []
        self.bodies: list[bytes] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.fail_on = fail_on

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)
            assert request.url.path == "/v1.0-alpha1/publish/bulk/pubsub/market.events"
            assert request.headers["content-type"] == "application/json"
            self.bodies.append(request.content)
            self.requests.append(json.loads(request.content))
            if self.fail_on is not None and len(self.requests) == self.fail_on:
                return httpx.Response(500, json={"errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE"})
            return httpx.Response(204)
        finally:
            self.in_flight -= 1

    def publisher(self) -> tuple[DaprEventPublisher, DaprSidecar]:
        sidecar = DaprSidecar(1)
        sidecar.client = httpx.AsyncClient(
            base_url=sidecar.base_url, transport=httpx.MockTransport(self.handle)
        )
        return DaprEventPublisher(sidecar, "pubsub", "/market-data"), sidecar


def quotes(symbols: list[str]) -> list[QuoteUpdated]:
    return [
        QuoteUpdated(
            symbol=s,
            source="t",
            ts_event=NOW + timedelta(microseconds=i),
            bid=Decimal(i + 1),
            ask=Decimal(i + 2),
            bid_size=1,
            ask_size=1,
        )
        for i, s in enumerate(symbols)
    ]


async def publish(fake: FakeSidecar, events: list[QuoteUpdated]) -> None:
    publisher, sidecar = fake.publisher()
    try:
        await publisher.publish_many(events)
    finally:
        await sidecar.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["A", "B", "C", "BRK.B", "X/Y"]), max_size=40))
def test_publish_many_keeps_each_keys_order_and_publishes_each_event_once(
    symbols: list[str],
) -> None:
    events = quotes(symbols)
    fake = FakeSidecar()
    asyncio.run(publish(fake, events))
    assert fake.max_in_flight <= 1  # a request only once the previous one was accepted
    sent = [entry["event"] for request in fake.requests for entry in request]
    assert sorted(e["id"] for e in sent) == sorted(str(e.event_id) for e in events)
    for request in fake.requests:
        keys = [entry["metadata"]["partitionKey"] for entry in request]
        assert len(keys) == len(set(keys))  # never two events of one key in a request
    for symbol in set(symbols):
        assert [e["id"] for e in sent if e["partitionkey"] == symbol] == [
            str(e.event_id) for e in events if e.symbol == symbol
        ]


async def test_publish_many_sends_one_request_per_round_with_the_reference_bytes() -> None:
    events = quotes([f"S{i:03d}" for i in range(100)] * 3)
    fake = FakeSidecar()
    await publish(fake, events)
    assert [len(r) for r in fake.requests] == [100, 100, 100]
    assert fake.bodies == [
        dumps_compact(bulk_publish_entries(events[i : i + 100], "/market-data"))
        for i in (0, 100, 200)
    ]


async def test_publish_many_stops_at_the_first_failed_round_and_raises() -> None:
    events = quotes(["A", "B", "A", "B", "A"])
    fake = FakeSidecar(fail_on=2)
    with pytest.raises(PlatformUnavailableError, match=r"bulk publish 2 events to market\.events"):
        await publish(fake, events)
    assert [len(r) for r in fake.requests] == [2, 2]  # the third round was not sent
