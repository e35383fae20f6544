"""Test data for the AI decision service: bars, requests, contexts, CloudEvents, an app."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import numpy as np
from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from fastapi import FastAPI

from ai_decision.domain.commands import (
    REQUEST_DECISION_TYPE,
    AccountSnapshot,
    PositionSnapshot,
    RequestDecision,
    RiskLimits,
    Task,
)
from ai_decision.domain.context import DecisionContext, Headline, fuse
from ai_decision.domain.features import (
    BarPoint,
    FeatureVector,
    QuotePoint,
    compute_bar_features,
)
from ai_decision.main import Overrides, create_app
from ai_decision.settings import AiDecisionSettings
from trader_common.adapters.inprocess import InMemoryEventBus, InMemoryStateStore
from trader_common.contracts import BarClosed, QuoteUpdated

T0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


def bar_series(
    n: int,
    *,
    seed: int = 1,
    drift: float = 0.0,
    vol: float = 0.01,
    start: float = 100.0,
    t0: datetime = T0,
    minutes: int = 1,
) -> list[BarPoint]:
    """``n`` consistent OHLCV bars, oldest first, closing every ``minutes`` from ``t0``."""
    rng = np.random.default_rng(seed)
    bars: list[BarPoint] = []
    price = start
    for i in range(n):
        open_ = price
        price = max(1.0, price * float(np.exp(drift + vol * rng.standard_normal())))
        high = max(open_, price) * (1 + abs(float(rng.standard_normal())) * vol / 4)
        low = min(open_, price) * (1 - abs(float(rng.standard_normal())) * vol / 4)
        bars.append(
            BarPoint(
                ts_open=t0 + timedelta(minutes=i * minutes),
                ts_close=t0 + timedelta(minutes=(i + 1) * minutes),
                open=Decimal(f"{open_:.4f}"),
                high=Decimal(f"{high:.4f}"),
                low=Decimal(f"{low:.4f}"),
                close=Decimal(f"{price:.4f}"),
                volume=Decimal(int(1000 + 500 * abs(float(rng.standard_normal())))),
            )
        )
    return bars


def bar_event(symbol: str, bar: BarPoint, timeframe: str = "1Min") -> BarClosed:
    high = max(bar.high, bar.open, bar.close)
    low = min(bar.low, bar.open, bar.close)
    return BarClosed(
        symbol=symbol,
        source="test",
        timeframe=timeframe,  # type: ignore[arg-type]
        ts_open=bar.ts_open,
        ts_event=bar.ts_close,
        open=bar.open,
        high=high,
        low=low,
        close=bar.close,
        volume=bar.volume,
    )


def quote_event(symbol: str, ts: datetime, bid: str, ask: str) -> QuoteUpdated:
    return QuoteUpdated(
        symbol=symbol,
        source="test",
        ts_event=ts,
        bid=Decimal(bid),
        ask=Decimal(ask),
        bid_size=Decimal(1),
        ask_size=Decimal(1),
    )


def account(equity: str = "100000", buying_power: str | None = None) -> AccountSnapshot:
    return AccountSnapshot(
        equity=Decimal(equity), cash=Decimal(equity), buying_power=Decimal(buying_power or equity)
    )


def make_request(
    symbols: Sequence[str] = ("AAPL",),
    *,
    as_of: datetime | None = None,
    task: Task = Task.FAST,
    limits: RiskLimits | None = None,
    equity: str = "100000",
    buying_power: str | None = None,
    positions: dict[str, str] | None = None,
    strategy_id: str = "momo-1",
    request_id: UUID | None = None,
) -> RequestDecision:
    return RequestDecision(
        request_id=request_id or uuid4(),
        strategy_id=strategy_id,
        symbols=list(symbols),
        as_of=as_of or T0 + timedelta(days=1),
        task=task,
        risk_limits=limits or RiskLimits(),
        account=account(equity, buying_power),
        positions={s: PositionSnapshot(qty=Decimal(q)) for s, q in (positions or {}).items()},
    )


def make_context(
    symbol: str = "AAPL",
    *,
    bars: Sequence[BarPoint] | None = None,
    price: str | None = "100",
    position: str = "0",
    limits: RiskLimits | None = None,
    equity: str = "100000",
    buying_power: str | None = None,
    task: Task = Task.FAST,
    headlines: Sequence[Headline] = (),
) -> DecisionContext:
    """A context whose reference price is ``price`` (a quote around it) unless ``None``."""
    as_of = T0 + timedelta(days=1)
    feats = compute_bar_features(bars) if bars else None
    quote = None
    if price is not None:
        p = Decimal(price)
        quote = QuotePoint(
            ts=as_of - timedelta(seconds=1), bid=p - Decimal("0.01"), ask=p + Decimal("0.01")
        )
    vector = FeatureVector(symbol=symbol, as_of=as_of, bars=feats, quote=quote, last_trade=None)
    request = make_request(
        [symbol],
        as_of=as_of,
        task=task,
        limits=limits,
        equity=equity,
        buying_power=buying_power,
        positions={symbol: position} if position != "0" else None,
    )
    return fuse(request, symbol, vector, list(bars or [])[-5:], headlines, "ok")


def request_data(request: RequestDecision) -> dict[str, Any]:
    data: dict[str, Any] = request.model_dump(mode="json")
    return data


def cloud_event(
    request: RequestDecision | dict[str, Any], event_type: str = REQUEST_DECISION_TYPE
) -> CloudEvent:
    data = request_data(request) if isinstance(request, RequestDecision) else request
    return CloudEvent(
        attributes={
            "id": str(uuid4()),
            "source": "/orchestrator",
            "type": event_type,
            "specversion": "1.0",
            "datacontenttype": "application/json",
        },
        data=data,
    )


def structured(
    request: RequestDecision | dict[str, Any], event_type: str = REQUEST_DECISION_TYPE
) -> tuple[dict[str, str], bytes]:
    message = to_structured(cloud_event(request, event_type), JSONFormat())
    return message.headers, message.body


def binary(
    request: RequestDecision | dict[str, Any], event_type: str = REQUEST_DECISION_TYPE
) -> tuple[dict[str, str], bytes]:
    message = to_binary(cloud_event(request, event_type), JSONFormat())
    return message.headers, message.body


def dapr_envelope(request: RequestDecision) -> bytes:
    """A pub/sub delivery as daprd makes it (structured, with Dapr's extension attributes)."""
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid4()),
            "source": "orchestrator",
            "type": REQUEST_DECISION_TYPE,
            "datacontenttype": "application/json",
            "data": request_data(request),
            "topic": "ai.decision-requests",
            "pubsubname": "pubsub",
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "tracestate": "",
        }
    ).encode()


def in_process_app(
    settings: AiDecisionSettings | None = None, **overrides: Any
) -> tuple[FastAPI, InMemoryStateStore, InMemoryEventBus]:
    state = overrides.pop("state", None) or InMemoryStateStore()
    bus = overrides.pop("publisher", None) or InMemoryEventBus()
    settings = settings or AiDecisionSettings(news_source="none", log_json=False)
    app = create_app(settings, Overrides(state=state, publisher=bus, **overrides))
    return app, state, bus
