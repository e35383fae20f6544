"""Request-scoped access to what ``create_app`` built, and the query parameters every analysis
shares (account, strategy, symbol, time range)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import AwareDatetime

from analytics.adapters.postgres import PostgresReadModel
from analytics.service.ports import PerformanceQuery
from analytics.service.queries import AnalyticsQueries
from analytics.service.read_model import ReadModelService
from analytics.settings import AnalyticsSettings

SYMBOL_PATTERN = r"^[A-Z0-9./:-]{1,32}$"


def get_settings(request: Request) -> AnalyticsSettings:
    settings: AnalyticsSettings = request.app.state.settings
    return settings


def get_queries(request: Request) -> AnalyticsQueries:
    queries: AnalyticsQueries = request.app.state.queries
    return queries


def get_ingestion(request: Request) -> ReadModelService:
    ingestion: ReadModelService = request.app.state.ingestion
    return ingestion


def get_read_model(request: Request) -> PostgresReadModel:
    read_model: PostgresReadModel = request.app.state.read_model
    return read_model


SettingsDep = Annotated[AnalyticsSettings, Depends(get_settings)]
QueriesDep = Annotated[AnalyticsQueries, Depends(get_queries)]
IngestionDep = Annotated[ReadModelService, Depends(get_ingestion)]
ReadModelDep = Annotated[PostgresReadModel, Depends(get_read_model)]

AccountParam = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=128,
        description="Account; default: the configured one (ANALYTICS_DEFAULT_ACCOUNT_ID)",
    ),
]
StrategyParam = Annotated[
    str | None,
    Query(min_length=1, max_length=64, description="One strategy of the account; default: all"),
]
SymbolParam = Annotated[
    str | None,
    Query(pattern=SYMBOL_PATTERN, description="One symbol; default: all"),
]
StartParam = Annotated[
    AwareDatetime | None,
    Query(description="Inclusive, RFC 3339 with a zone (e.g. 2024-01-02T00:00:00Z)"),
]
EndParam = Annotated[AwareDatetime | None, Query(description="Inclusive, RFC 3339 with a zone")]


def scope_query(
    settings: SettingsDep,
    account_id: AccountParam = None,
    strategy_id: StrategyParam = None,
    start: StartParam = None,
    end: EndParam = None,
) -> PerformanceQuery:
    """Account or strategy over a range (an inverted range is refused: 422)."""
    return PerformanceQuery(
        account_id=account_id or settings.default_account_id,
        start=start,
        end=end,
        strategy_id=strategy_id,
    )


def symbol_query(
    query: Annotated[PerformanceQuery, Depends(scope_query)], symbol: SymbolParam = None
) -> PerformanceQuery:
    """Account, strategy and/or symbol over a range."""
    return query.narrowed(symbol=symbol) if symbol else query


ScopeQueryDep = Annotated[PerformanceQuery, Depends(scope_query)]
QueryDep = Annotated[PerformanceQuery, Depends(symbol_query)]
