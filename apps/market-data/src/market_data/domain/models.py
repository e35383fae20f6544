"""Value objects the connectors return besides the event contracts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class Capability(StrEnum):
    """What a connector can do. A call to a capability it lacks raises ``NotSupportedError``."""

    QUOTES = "quotes"
    BARS = "bars"
    STREAM = "stream"
    ASSETS = "assets"
    NEWS = "news"


@dataclass(frozen=True, slots=True)
class AssetInfo:
    symbol: str
    name: str | None
    asset_class: str
    exchange: str | None
    currency: str | None
    tradable: bool | None
    source: str
    market_cap: Decimal | None = None
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewsItem:
    id: str
    headline: str
    summary: str
    source: str
    url: str | None
    published_at: datetime
    symbols: tuple[str, ...]
    provider: str
