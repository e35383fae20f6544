"""Data fusion: everything one decision may look at, in one typed, point-in-time context."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from .commands import AccountSnapshot, PositionSnapshot, RequestDecision, RiskLimits, Task
from .features import BarPoint, FeatureVector, feature_vector_from_json

MAX_HEADLINES = 10


@dataclass(frozen=True, slots=True)
class Headline:
    """A news headline as market-data serves it (Finnhub company news)."""

    published_at: datetime
    headline: str
    source: str = ""
    url: str = ""
    summary: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "published_at": self.published_at.isoformat(),
            "headline": self.headline,
            "source": self.source,
            "url": self.url,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """The fused, typed input of one decision about one symbol."""

    request_id: UUID
    strategy_id: str
    symbol: str
    as_of: datetime
    task: Task
    features: FeatureVector
    recent_bars: tuple[BarPoint, ...]
    headlines: tuple[Headline, ...]
    news_status: str
    position: PositionSnapshot
    account: AccountSnapshot
    limits: RiskLimits

    @property
    def reference_price(self) -> Decimal | None:
        return self.features.reference_price

    @property
    def position_value(self) -> Decimal | None:
        price = self.reference_price
        return None if price is None else self.position.qty * price

    @property
    def position_weight(self) -> Decimal | None:
        value = self.position_value
        return None if value is None else value / self.account.equity

    def to_json(self) -> dict[str, Any]:
        """Everything in the context as JSON-ready data (what the audit trail keeps)."""
        weight = self.position_weight
        return {
            "request_id": str(self.request_id),
            "strategy_id": self.strategy_id,
            "symbol": self.symbol,
            "as_of": self.as_of.isoformat(),
            "task": str(self.task),
            "features": self.features.to_json(),
            "recent_bars": [
                {
                    "ts_open": b.ts_open.isoformat(),
                    "ts_close": b.ts_close.isoformat(),
                    "open": str(b.open),
                    "high": str(b.high),
                    "low": str(b.low),
                    "close": str(b.close),
                    "volume": str(b.volume),
                }
                for b in self.recent_bars
            ],
            "headlines": [h.to_json() for h in self.headlines],
            "news_status": self.news_status,
            "position": self.position.model_dump(mode="json"),
            "position_weight": None if weight is None else str(round(weight, 6)),
            "account": self.account.model_dump(mode="json"),
            "risk_limits": self.limits.model_dump(mode="json"),
        }


def context_from_json(data: dict[str, Any]) -> DecisionContext:
    """Inverse of :meth:`DecisionContext.to_json` (used to validate overnight batch results
    against exactly the context the model was shown)."""
    return DecisionContext(
        request_id=UUID(str(data["request_id"])),
        strategy_id=str(data["strategy_id"]),
        symbol=str(data["symbol"]),
        as_of=datetime.fromisoformat(str(data["as_of"])),
        task=Task(str(data["task"])),
        features=feature_vector_from_json(data["features"]),
        recent_bars=tuple(
            BarPoint(
                ts_open=datetime.fromisoformat(str(b["ts_open"])),
                ts_close=datetime.fromisoformat(str(b["ts_close"])),
                open=Decimal(str(b["open"])),
                high=Decimal(str(b["high"])),
                low=Decimal(str(b["low"])),
                close=Decimal(str(b["close"])),
                volume=Decimal(str(b["volume"])),
            )
            for b in data.get("recent_bars", [])
        ),
        headlines=tuple(
            Headline(
                published_at=datetime.fromisoformat(str(h["published_at"])),
                headline=str(h["headline"]),
                source=str(h.get("source", "")),
                url=str(h.get("url", "")),
                summary=str(h.get("summary", "")),
            )
            for h in data.get("headlines", [])
        ),
        news_status=str(data.get("news_status", "")),
        position=PositionSnapshot.model_validate(data["position"]),
        account=AccountSnapshot.model_validate(data["account"]),
        limits=RiskLimits.model_validate(data["risk_limits"]),
    )


def point_in_time_headlines(
    headlines: Iterable[Headline], as_of: datetime, limit: int = MAX_HEADLINES
) -> tuple[Headline, ...]:
    """Headlines published at or before ``as_of``, newest first, at most ``limit``."""
    known = sorted((h for h in headlines if h.published_at <= as_of), key=lambda h: h.published_at)
    return tuple(reversed(known[-limit:])) if limit > 0 else ()


def fuse(
    request: RequestDecision,
    symbol: str,
    features: FeatureVector,
    recent_bars: Sequence[BarPoint],
    headlines: Iterable[Headline],
    news_status: str,
) -> DecisionContext:
    """One symbol's context. Inputs later than ``request.as_of`` are left out, whatever the
    sources returned, so nothing from the future can leak into a decision."""
    if symbol not in request.symbols:
        raise ValueError(f"{symbol} is not one of the request's symbols")
    if features.as_of > request.as_of:
        raise ValueError(f"features of {symbol} are as of {features.as_of}, after {request.as_of}")
    return DecisionContext(
        request_id=request.request_id,
        strategy_id=request.strategy_id,
        symbol=symbol,
        as_of=request.as_of,
        task=request.task,
        features=features,
        recent_bars=tuple(b for b in recent_bars if b.ts_close <= request.as_of),
        headlines=point_in_time_headlines(headlines, request.as_of),
        news_status=news_status,
        position=request.position(symbol),
        account=request.account,
        limits=request.risk_limits,
    )
