"""News from market-data (Finnhub company news) through service invocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ai_decision.adapters.news import MarketDataNewsSource, NoNewsSource, parse_headline
from ai_decision.service.ports import NewsUnavailableError
from tests.unit.ai_decision.builders import T0, in_process_app, make_request, structured
from trader_common.ports import PlatformUnavailableError


class Invoker:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str]] = []

    async def invoke(
        self, app_id: str, method: str, *, http_method: str = "GET", body: Any = None
    ) -> tuple[int, Any]:
        self.calls.append((app_id, method))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer  # type: ignore[no-any-return]


FINNHUB = {
    "category": "company",
    "datetime": 1767623400,
    "headline": "Apple beats",
    "id": 1,
    "source": "Reuters",
    "summary": "Q1 results",
    "url": "https://x",
}


async def test_news_finnhub_items_are_parsed() -> None:
    invoker = Invoker((200, [FINNHUB]))
    [headline] = await MarketDataNewsSource(invoker).headlines("AAPL", T0, 5)
    assert headline.headline == "Apple beats" and headline.source == "Reuters"
    assert headline.published_at == datetime.fromtimestamp(1767623400, UTC)
    app_id, method = invoker.calls[0]
    assert app_id == "market-data"
    assert method == "news?symbols=AAPL&end=2026-01-05T14%3A30%3A00%2B00%3A00&limit=5"


async def test_news_market_data_answer_is_parsed() -> None:
    answer = {
        "served_from": "cache",
        "news": [
            {
                "id": "1",
                "headline": "Chip news",
                "summary": "s",
                "source": "Finnhub",
                "url": None,
                "published_at": "2026-01-05T10:00:00+00:00",
                "symbols": ["NVDA"],
                "provider": "finnhub",
            }
        ],
    }
    [headline] = await MarketDataNewsSource(Invoker((200, answer))).headlines("NVDA", T0, 5)
    assert headline.published_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert (headline.headline, headline.source, headline.url) == ("Chip news", "Finnhub", "")


async def test_news_malformed_items_are_skipped() -> None:
    items = [
        FINNHUB,
        {"headline": ""},
        {"headline": "no time"},
        "text",
        {"headline": "naive", "published_at": "2026-01-05T10:00:00"},
    ]
    got = await MarketDataNewsSource(Invoker((200, items))).headlines("AAPL", T0, 5)
    assert [h.headline for h in got] == ["Apple beats"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((404, {"message": "no route"}), "HTTP 404"),
        ((200, {"unexpected": 1}), "not a list of headlines"),
        (PlatformUnavailableError("sidecar down"), "sidecar down"),
    ],
)
async def test_news_unavailable_is_reported(answer: Any, reason: str) -> None:
    with pytest.raises(NewsUnavailableError, match=reason):
        await MarketDataNewsSource(Invoker(answer)).headlines("AAPL", T0, 5)


async def test_news_disabled_is_reported() -> None:
    with pytest.raises(NewsUnavailableError, match="disabled"):
        await NoNewsSource().headlines("AAPL", T0, 5)


def test_parse_headline_epoch_out_of_range_is_none() -> None:
    assert parse_headline({"headline": "x", "datetime": 10**20}) is None


async def test_decision_goes_ahead_when_news_is_unavailable() -> None:
    import httpx

    app, _, bus = in_process_app()  # news_source=none
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        request = make_request(["AAPL"], as_of=T0 + timedelta(days=1))
        response = await c.post(
            "/decisions/requests", content=structured(request)[1], headers=structured(request)[0]
        )
        [outcome] = response.json()["outcomes"]
        audit = (await c.get(f"/decisions/{outcome['decision_id']}/audit")).json()
    assert outcome["status"] == "accepted"
    assert audit["context"]["news_status"].startswith("unavailable: news source disabled")
    assert len(bus.published) == 1
