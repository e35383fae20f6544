"""News headlines from the market-data service (its Finnhub company news), through Dapr service
invocation: ``GET /news?symbols=<symbol>&end=<ISO>&limit=<n>`` on app ``market-data``, which
answers ``{"served_from": ..., "news": [{"headline", "summary", "source", "url",
"published_at", ...}]}`` newest first.

Also accepts the items as Finnhub returns them (``datetime`` epoch seconds), as a bare list or
under ``headlines``. Anything else is reported, not guessed at.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from trader_common.ports import PlatformUnavailableError, ServiceInvoker

from ..domain.context import Headline
from ..service.ports import NewsUnavailableError

log = logging.getLogger(__name__)


def parse_headline(item: Any) -> Headline | None:
    if not isinstance(item, dict):
        return None
    text = item.get("headline") or item.get("title")
    if not isinstance(text, str) or not text.strip():
        return None
    published: datetime | None = None
    raw_time = item.get("published_at", item.get("datetime"))
    try:
        if isinstance(raw_time, int | float) and not isinstance(raw_time, bool):
            published = datetime.fromtimestamp(float(raw_time), UTC)
        elif isinstance(raw_time, str):
            published = datetime.fromisoformat(raw_time.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    if published is None or published.tzinfo is None:
        return None
    return Headline(
        published_at=published.astimezone(UTC),
        headline=text.strip()[:500],
        source=str(item.get("source") or "")[:100],
        url=str(item.get("url") or "")[:500],
        summary=str(item.get("summary") or "")[:1000],
    )


class MarketDataNewsSource:
    def __init__(self, invoker: ServiceInvoker, app_id: str = "market-data") -> None:
        self._invoker = invoker
        self._app_id = app_id

    async def headlines(self, symbol: str, until: datetime, limit: int) -> list[Headline]:
        method = (
            f"news?symbols={quote(symbol, safe='')}"
            f"&end={quote(until.isoformat(), safe='')}&limit={max(1, min(limit, 200))}"
        )
        try:
            status, payload = await self._invoker.invoke(self._app_id, method)
        except PlatformUnavailableError as exc:
            raise NewsUnavailableError(str(exc)) from exc
        if status != 200:
            raise NewsUnavailableError(f"{self._app_id} answered HTTP {status} for {symbol} news")
        items = payload
        if isinstance(payload, dict):
            items = payload.get("news", payload.get("headlines"))
        if not isinstance(items, list):
            raise NewsUnavailableError(
                f"{self._app_id} news for {symbol} is not a list of headlines "
                f"(got {type(items).__name__})"
            )
        parsed = [parse_headline(item) for item in items]
        good = [h for h in parsed if h is not None]
        if len(good) < len(parsed):
            log.warning(
                "skipped malformed headlines",
                extra={"symbol": symbol, "skipped": len(parsed) - len(good)},
            )
        return good


class NoNewsSource:
    """News switched off (AI_DECISION_NEWS_SOURCE=none)."""

    async def headlines(self, symbol: str, until: datetime, limit: int) -> list[Headline]:
        raise NewsUnavailableError("news source disabled (AI_DECISION_NEWS_SOURCE=none)")


class StaticNewsSource:
    """Fixed headlines (tests, backtests with recorded news)."""

    def __init__(self, headlines: dict[str, list[Headline]]) -> None:
        self._headlines = headlines

    async def headlines(self, symbol: str, until: datetime, limit: int) -> list[Headline]:
        return list(self._headlines.get(symbol, []))
