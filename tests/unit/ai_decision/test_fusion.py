"""Data fusion: features, bars, news, position, account and limits into one typed context."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from ai_decision.domain.commands import RequestDecision, RiskLimits, Task
from ai_decision.domain.context import Headline, context_from_json, fuse, point_in_time_headlines
from ai_decision.domain.features import FeatureVector, compute_bar_features
from tests.unit.ai_decision.builders import T0, bar_series, make_context, make_request


def test_fuse_puts_every_source_in_one_context() -> None:
    bars = bar_series(40)
    as_of = bars[-1].ts_close + timedelta(minutes=1)
    request = make_request(
        ["AAPL", "MSFT"],
        as_of=as_of,
        positions={"AAPL": "12"},
        limits=RiskLimits(max_order_qty=Decimal(5)),
        task=Task.DEEP,
    )
    vector = FeatureVector("AAPL", as_of, compute_bar_features(bars), None, None)
    news = [Headline(published_at=as_of - timedelta(hours=1), headline="h")]
    ctx = fuse(request, "AAPL", vector, bars[-10:], news, "ok")
    assert ctx.symbol == "AAPL" and ctx.task == Task.DEEP and ctx.as_of == as_of
    assert ctx.position.qty == Decimal("12")
    assert ctx.limits.max_order_qty == Decimal(5)
    assert ctx.account.equity == Decimal("100000")
    assert len(ctx.recent_bars) == 10 and [h.headline for h in ctx.headlines] == ["h"]
    assert ctx.reference_price == bars[-1].close
    assert ctx.position_weight == Decimal("12") * bars[-1].close / Decimal("100000")


def test_fuse_drops_anything_after_as_of_whatever_the_source_returned() -> None:
    bars = bar_series(20)
    as_of = bars[9].ts_close
    request = make_request(["AAPL"], as_of=as_of)
    vector = FeatureVector("AAPL", as_of, compute_bar_features(bars[:10]), None, None)
    news = [
        Headline(published_at=as_of + timedelta(seconds=1), headline="tomorrow's news"),
        Headline(published_at=as_of, headline="now"),
    ]
    ctx = fuse(request, "AAPL", vector, bars, news, "ok")
    assert all(b.ts_close <= as_of for b in ctx.recent_bars)
    assert [h.headline for h in ctx.headlines] == ["now"]


def test_fuse_refuses_features_from_after_as_of() -> None:
    request = make_request(["AAPL"], as_of=T0)
    vector = FeatureVector("AAPL", T0 + timedelta(seconds=1), None, None, None)
    with pytest.raises(ValueError, match="after"):
        fuse(request, "AAPL", vector, [], [], "ok")


def test_fuse_refuses_a_symbol_not_asked_about() -> None:
    request = make_request(["AAPL"], as_of=T0)
    with pytest.raises(ValueError, match="not one of the request's symbols"):
        fuse(request, "TSLA", FeatureVector("TSLA", T0, None, None, None), [], [], "ok")


def test_headlines_newest_first_and_limited() -> None:
    news = [Headline(published_at=T0 + timedelta(minutes=i), headline=str(i)) for i in range(20)]
    picked = point_in_time_headlines(news, T0 + timedelta(minutes=9), limit=3)
    assert [h.headline for h in picked] == ["9", "8", "7"]


def test_context_json_round_trip_is_exact() -> None:
    news = [Headline(published_at=T0, headline="h", source="s", url="u", summary="x")]
    ctx = make_context(bars=bar_series(60), position="3", headlines=news, task=Task.DEEP)
    assert context_from_json(ctx.to_json()) == ctx


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"symbols": []}, "symbols"),
        ({"symbols": ["AAPL", "AAPL"]}, "symbols repeat: AAPL"),
        ({"symbols": ["aapl"]}, "symbols.0"),
        ({"as_of": "2026-01-05T10:00:00"}, "as_of"),
        ({"task": "slow"}, "task"),
        ({"positions": {"TSLA": {"qty": "1"}}}, "positions given for symbols not asked about"),
        ({"account": {"equity": "0", "cash": "0", "buying_power": "0"}}, "account.equity"),
        ({"risk_limits": {"max_position_weight": "2"}}, "risk_limits.max_position_weight"),
        ({"risk_limits": {"allowed_order_types": []}}, "at least one order type"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_request_decision_bad_input_names_the_problem(change: dict, problem: str) -> None:
    data = make_request(["AAPL"]).model_dump(mode="json")
    data.update(change)
    with pytest.raises(ValueError, match=problem.replace(".", r"\.")):
        RequestDecision.model_validate(data)
