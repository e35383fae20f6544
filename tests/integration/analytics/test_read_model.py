"""The analytics read model on a real PostgreSQL: migrations, idempotent delivery (redelivered
and replayed events change nothing), the rebuild from the event log giving identical tables,
and the same tables whatever order the broker's partitions interleave in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg.rows import dict_row

from analytics.adapters.database import Database
from analytics.adapters.migrations import Migration, MigrationError, load_migrations, migrate
from analytics.adapters.postgres import PROJECTIONS, PostgresReadModel
from analytics.domain.facts import EventRejectedError
from analytics.service.ports import PerformanceQuery
from analytics.service.read_model import ReadModelService
from tests.integration.analytics.builders import (
    by_partition,
    day,
    fill,
    interleaved,
    quote,
    scenario,
)
from trader_common.contracts import Event

pytestmark = pytest.mark.integration

ARRIVAL_COLUMNS = ("seq", "event_id", "received_at")
"""Columns that record how the events arrived (their sequence numbers and ids), not what the
read model derived from them: left out when comparing models fed in different orders."""


class ReadModel:
    """The write side over one database, as the app wires it."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.database = Database(dsn, size=4)
        self.store = PostgresReadModel(self.database)
        self.service = ReadModelService(
            self.store,
            default_account_id="paper",
            starting_cash_of=lambda account: Decimal(100_000),
        )

    async def feed(self, events: Sequence[Event]) -> list[str]:
        return [await self.service.ingest(event) for event in events]

    async def snapshot(self, *, without: Sequence[str] = ()) -> dict[str, list[tuple[str, ...]]]:
        """Every projection table (and the event log's ids), rows as text, sorted."""
        tables: dict[str, list[tuple[str, ...]]] = {}
        async with await psycopg.AsyncConnection.connect(self.dsn) as connection:
            cursor = connection.cursor(row_factory=dict_row)
            for table in (*PROJECTIONS, "event_log"):
                await cursor.execute(f"SELECT * FROM analytics.{table}".encode())
                rows = await cursor.fetchall()
                skip = (*without, "payload", "received_at", "ts_recorded")
                tables[table] = sorted(
                    tuple(f"{key}={value}" for key, value in row.items() if key not in skip)
                    for row in rows
                )
        return tables


@pytest.fixture
async def model(database_dsn: str) -> AsyncIterator[ReadModel]:
    model = ReadModel(database_dsn)
    await model.store.migrate()
    yield model
    await model.database.close()


async def _fresh(new_database: Any) -> ReadModel:
    other = ReadModel(await new_database())
    await other.store.migrate()
    return other


# -- migrations -----------------------------------------------------------------------------


async def test_migrate_twice_applies_each_migration_once(database_dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_dsn, autocommit=True) as connection:
        first = await migrate(connection)
        second = await migrate(connection)
        cursor = await connection.execute(
            "SELECT version FROM analytics.schema_migrations ORDER BY version"
        )
        recorded = [row[0] for row in await cursor.fetchall()]
    assert first == [migration.version for migration in load_migrations()]
    assert second == []
    assert recorded == first


async def test_migrate_from_two_replicas_at_once_applies_once(database_dsn: str) -> None:
    async with (
        await psycopg.AsyncConnection.connect(database_dsn, autocommit=True) as one,
        await psycopg.AsyncConnection.connect(database_dsn, autocommit=True) as two,
    ):
        results = await asyncio.gather(migrate(one), migrate(two))
    assert sorted(results, key=len) == [[], [1]]


async def test_migrate_edited_applied_migration_is_refused(database_dsn: str) -> None:
    migrations = load_migrations()
    async with await psycopg.AsyncConnection.connect(database_dsn, autocommit=True) as connection:
        await migrate(connection, migrations)
        edited = [replace(migrations[0], sql=migrations[0].sql + "\n-- edited\n")]
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(connection, edited)


async def test_migrate_database_of_a_newer_version_is_refused(database_dsn: str) -> None:
    newer = [*load_migrations(), Migration(2, "future", "SELECT 1")]
    async with await psycopg.AsyncConnection.connect(database_dsn, autocommit=True) as connection:
        await migrate(connection, newer)
        with pytest.raises(MigrationError, match="migrated by a newer version"):
            await migrate(connection, load_migrations())


async def test_migrate_failing_migration_leaves_nothing_behind(database_dsn: str) -> None:
    broken = [*load_migrations(), Migration(2, "broken", "CREATE TABLE analytics.x (); SELEC 1")]
    async with await psycopg.AsyncConnection.connect(database_dsn, autocommit=True) as connection:
        with pytest.raises(psycopg.errors.SyntaxError):
            await migrate(connection, broken)
        cursor = await connection.execute("SELECT to_regclass('analytics.event_log')")
        assert (await cursor.fetchone()) == (None,)


# -- projection values ----------------------------------------------------------------------


async def test_read_model_small_history_has_hand_computed_values(model: ReadModel) -> None:
    events = [
        fill(day(0, 1), "buy", "10", "100", fee="1"),
        quote(day(0, 2), "101", "103"),
        quote(day(1, 1), "104", "106"),
        fill(day(1, 2), "sell", "4", "110", fee="1"),
        fill(day(2, 1), "sell", "6", "90", fee="1"),
        fill(day(2, 1), "buy", "5", "50", fee="1", symbol="MSFT", strategy="other"),
    ]
    assert await model.feed(events) == ["applied"] * 6
    account = PerformanceQuery("paper")
    points = await model.store.equity_rows(account, "event", None, 100)
    assert [(p.equity, p.cash, p.long_value, p.realized, p.fees) for p in points] == [
        (Decimal(99_999), Decimal(98_999), Decimal(1000), Decimal(0), Decimal(1)),
        (Decimal(100_019), Decimal(98_999), Decimal(1020), Decimal(0), Decimal(1)),
        (Decimal(100_049), Decimal(98_999), Decimal(1050), Decimal(0), Decimal(1)),
        (Decimal(100_098), Decimal(99_438), Decimal(660), Decimal(40), Decimal(2)),
        (Decimal(99_976), Decimal(99_726), Decimal(250), Decimal(-20), Decimal(4)),
    ]
    daily = await model.store.equity_curve(account)
    assert [point.equity for point in daily] == [
        Decimal(100_019),
        Decimal(100_098),
        Decimal(99_976),
    ]
    strategy = await model.store.equity_curve(PerformanceQuery("paper", strategy_id="momentum"))
    assert [point.equity for point in strategy] == [
        Decimal(100_019),
        Decimal(100_098),
        Decimal(99_977),
    ]
    trades = await model.store.closed_trades(account)
    assert [(t.strategy_id, t.symbol, t.pnl) for t in trades] == [
        ("momentum", "AAPL", Decimal(-23))  # realised 40 - 60, three fees of 1
    ]
    pnl = await model.store.pnl_days(PerformanceQuery("paper", symbol="AAPL"), None)
    assert [(row.day, row.realized, row.unrealized, row.pnl_to_date) for row in pnl] == [
        (day(0).date(), Decimal(0), Decimal(20), Decimal(19)),
        (day(1).date(), Decimal(40), Decimal(60), Decimal(98)),
        (day(2).date(), Decimal(-60), Decimal(0), Decimal(-23)),
    ]


async def test_read_model_late_fill_is_placed_in_time_order(
    model: ReadModel, new_database: Any
) -> None:
    buy = fill(day(0, 1), "buy", "10", "100")
    late = fill(day(0, 2), "buy", "10", "110")
    sell = fill(day(1, 1), "sell", "20", "120")
    await model.feed([buy, sell, late])  # the middle fill arrives last
    in_order = await _fresh(new_database)
    try:
        await in_order.feed([buy, late, sell])
        assert await model.snapshot(without=ARRIVAL_COLUMNS) == await in_order.snapshot(
            without=ARRIVAL_COLUMNS
        )
    finally:
        await in_order.database.close()
    trades = await model.store.closed_trades(PerformanceQuery("paper"))
    assert [trade.pnl for trade in trades] == [Decimal(300)]  # 20 x (120 - 105)


# -- idempotency, rebuild, replay -------------------------------------------------------------


async def test_read_model_redelivered_and_replayed_events_change_nothing(
    model: ReadModel,
) -> None:
    events = scenario()
    outcomes = await model.feed(events)
    assert outcomes.count("ignored") == 1  # the OrderAccepted
    assert set(outcomes) == {"applied", "ignored"}
    before = await model.snapshot()

    redelivered = events[5:12] + events[:3]  # a broker redelivering some, out of order
    assert set(await model.feed(redelivered)) <= {"duplicate", "ignored"}
    assert await model.snapshot() == before

    assert set(await model.feed(events)) == {"duplicate", "ignored"}  # a full replay
    assert await model.snapshot() == before


async def test_read_model_rebuild_from_the_log_is_identical(model: ReadModel) -> None:
    events = scenario()
    await model.feed(events)
    before = await model.snapshot()
    assert len(before["equity_points"]) > 20
    assert len(before["round_trips"]) >= 3

    result = await model.service.rebuild()

    assert (result.events, result.applied, result.skipped) == (len(events) - 1, len(events) - 1, 0)
    assert await model.snapshot() == before


async def test_read_model_rebuild_after_wiping_projections_restores_them(model: ReadModel) -> None:
    await model.feed(scenario())
    before = await model.snapshot()
    async with await psycopg.AsyncConnection.connect(model.dsn) as connection:
        await connection.execute("DELETE FROM analytics.pnl_daily")
        await connection.execute("UPDATE analytics.equity_points SET equity = 0")
    assert await model.snapshot() != before

    await model.service.rebuild()

    assert await model.snapshot() == before


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_read_model_replay_from_topics_in_another_interleaving_is_identical(
    model: ReadModel, new_database: Any, seed: int
) -> None:
    events = scenario()
    await model.feed(events)
    replayed = await _fresh(new_database)
    try:
        order = interleaved(events, seed)
        assert order != events
        await replayed.feed(order)
        assert await replayed.snapshot(without=ARRIVAL_COLUMNS) == await model.snapshot(
            without=ARRIVAL_COLUMNS
        )
    finally:
        await replayed.database.close()


async def test_read_model_concurrent_partitions_give_the_sequential_result(
    model: ReadModel, new_database: Any
) -> None:
    events = scenario()
    await model.feed(events)
    concurrent = await _fresh(new_database)
    try:

        async def deliver(partition: list[Event]) -> None:
            await concurrent.feed(partition)

        await asyncio.gather(*(deliver(p) for p in by_partition(events).values()))
        assert await concurrent.snapshot(without=ARRIVAL_COLUMNS) == await model.snapshot(
            without=ARRIVAL_COLUMNS
        )
    finally:
        await concurrent.database.close()


async def test_read_model_unstorable_event_is_rejected_and_changes_nothing(
    model: ReadModel,
) -> None:
    await model.feed(scenario()[:5])
    before = await model.snapshot()
    bad = fill(day(0, 3), "buy", "1", "100", strategy="bad\x00name")
    with pytest.raises(EventRejectedError, match="NUL"):
        await model.service.ingest(bad)
    huge = fill(day(0, 3), "buy", "1e19", "100")
    with pytest.raises(EventRejectedError, match="finite amount below"):
        await model.service.ingest(huge)
    assert await model.snapshot() == before


async def test_read_model_same_fill_under_a_new_event_id_counts_once(model: ReadModel) -> None:
    original = fill(day(0, 1), "buy", "10", "100")
    copy = original.model_copy(update={"event_id": uuid4()})
    assert await model.feed([original, copy]) == ["applied", "applied"]
    steps = (await model.snapshot())["position_steps"]
    assert len(steps) == 1
