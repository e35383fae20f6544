"""The read model on PostgreSQL (schema ``analytics``, see ``migrations/``).

Writes (``apply``): one transaction per event, serialised by a transaction-level advisory lock:

1. the event goes into ``event_log`` (its primary key is the processed-event record: a
   redelivered or replayed event stops here and changes nothing);
2. its facts are recorded: fills (once per fill id), marks (one per symbol and moment, the
   best-ranked source winning), bars, the UTC day as an active day;
3. what the facts touch is re-derived from the facts: a fill re-folds its position's ledger from
   that fill on (so a fill arriving late is placed in (time, sequence) order), and re-values the
   account's and the strategy's equity curve from then on; a mark re-values the scopes holding
   the symbol from the mark to the symbol's next mark; the daily series are refreshed for the
   days concerned; a new active day gets a daily row in every scope.

Every derived row is a function of the set of facts (and of the arrival order within one
symbol's partition for fills or marks at the same moment), not of the order in which
partitions interleave, so ``rebuild`` — deleting every projection and re-applying the log in
(ts_event, seq) order — gives the same tables.

Reads implement the ``EquityCurveSource`` (daily curve), ``TradeHistory`` (round trips),
``BenchmarkSource`` (daily closes from quotes and bars) and ``ReadModelReader`` ports.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from analytics.domain.errors import AnalyticsInputError
from analytics.domain.facts import EventFacts, EventRejectedError, FillFact, MarkFact, utc_day
from analytics.domain.ledger import Fill, PositionState, PositionStep, RoundTrip, fold_fills
from analytics.domain.pnl import PnlDay, day_close, days_covered, positions_curve
from analytics.domain.points import EquityPoint, PricePoint
from analytics.domain.trades import ClosedTrade
from analytics.domain.valuation import Holding, HoldingChange, Mark, ValuedPoint, value_scope
from analytics.service.ports import PerformanceQuery
from analytics.service.queries import Resolution
from analytics.service.read_model import FactsOfPayload, LoggedEvent, RebuildResult

from .database import Database, unavailable_on_connection_errors
from .migrations import migrate

log = logging.getLogger(__name__)

READ_MODEL_LOCK = 0x616E616C79746963 + 1
LOCK_TIMEOUT = "10s"
"""How long a write waits for the read-model lock (e.g. behind a rebuild) before the delivery
is answered RETRY."""

PROJECTIONS = (
    "pnl_daily",
    "equity_daily",
    "equity_points",
    "round_trips",
    "position_steps",
    "bars",
    "marks",
    "fills",
    "positions",
    "scopes",
    "accounts",
    "active_days",
)
"""Everything but the event log, in an order that respects the foreign keys."""

Scope = tuple[str, str]
"""(account_id, strategy_id); strategy '' is the whole account."""
Key = tuple[str, str, str]
"""(account_id, strategy_id, symbol): a position."""

_DAY_START = "(({day})::timestamp AT TIME ZONE 'UTC')"
_DAY_END = "((({day}) + 1)::timestamp AT TIME ZONE 'UTC')"


@dataclass
class _Window:
    since: datetime
    until: datetime | None

    def widen(self, since: datetime, until: datetime | None) -> None:
        self.since = min(self.since, since)
        self.until = None if self.until is None or until is None else max(self.until, until)


@contextmanager
def _rejected_on_data_errors(logged: LoggedEvent) -> Iterator[None]:
    try:
        yield
    except (psycopg.DataError, psycopg.IntegrityError) as error:
        raise EventRejectedError(
            f"{logged.type} {logged.event_id}: cannot be stored ({error.sqlstate}: "
            f"{str(error).strip().splitlines()[0]})"
        ) from error


def _state_of(row: dict[str, Any] | None) -> PositionState:
    if row is None:
        return PositionState()
    return PositionState(
        qty=row["qty"],
        avg_cost=row["avg_cost"],
        realized=row["realized"],
        fees=row["fees"],
        turnover=row["turnover"],
        cash_flow=row["cash_flow"],
        fills=row["fills"],
        trips=row["trips"],
        trip_opened_at=row["trip_opened_at"],
        trip_realized=row["trip_realized"],
        trip_fees=row["trip_fees"],
        trip_fills=row["trip_fills"],
        trip_peak_qty=row["trip_peak_qty"],
    )


def _holding(row: dict[str, Any]) -> Holding:
    return Holding(
        qty=row["qty"],
        avg_cost=row["avg_cost"],
        cash_flow=row["cash_flow"],
        realized=row["realized"],
        fees=row["fees"],
    )


def _valued(row: dict[str, Any], at: datetime) -> ValuedPoint:
    return ValuedPoint(
        at=at,
        equity=row["equity"],
        cash=row["cash"],
        long_value=row["long_value"],
        short_value=row["short_value"],
        realized=row["realized"],
        unrealized=row["unrealized"],
        fees=row["fees"],
    )


class PostgresReadModel:
    def __init__(self, database: Database) -> None:
        self._db = database

    # -- lifecycle -------------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        with unavailable_on_connection_errors("migrate"):
            async with self._db.connection() as connection:
                applied = await migrate(connection)
        if applied:
            log.info("read model migrated", extra={"versions": applied})
        return applied

    async def ping(self) -> None:
        await self._db.ping()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[psycopg.AsyncCursor[dict[str, Any]]]:
        async with self._db.connection() as connection, connection.transaction():
            await connection.execute(
                "SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(%s)",
                (LOCK_TIMEOUT, READ_MODEL_LOCK),
            )
            async with connection.cursor(row_factory=dict_row) as cursor:
                yield cursor

    # -- writes ----------------------------------------------------------------------------

    async def apply(self, logged: LoggedEvent, facts: EventFacts) -> bool:
        with unavailable_on_connection_errors("apply event"), _rejected_on_data_errors(logged):
            async with self._write() as cursor:
                await cursor.execute(
                    "INSERT INTO analytics.event_log (event_id, type, topic, partition_key, "
                    "ts_event, ts_recorded, payload) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (event_id) DO NOTHING RETURNING seq",
                    (
                        logged.event_id,
                        logged.type,
                        logged.topic,
                        logged.partition_key,
                        logged.ts_event,
                        logged.ts_recorded,
                        Jsonb(dict(logged.payload)),
                    ),
                )
                row = await cursor.fetchone()
                if row is None:
                    return False
                await _Projector(cursor).project(int(row["seq"]), logged.event_id, facts)
                return True

    async def rebuild(self, facts_of_payload: FactsOfPayload) -> RebuildResult:
        events = applied = skipped = 0
        with unavailable_on_connection_errors("rebuild"):
            async with self._write() as cursor:
                for table in PROJECTIONS:
                    await cursor.execute(f"DELETE FROM analytics.{table}")
                connection = cursor.connection
                async with connection.cursor(
                    "analytics_replay", row_factory=dict_row
                ) as log_cursor:
                    await log_cursor.execute(
                        "SELECT seq, event_id, type, payload FROM analytics.event_log "
                        "ORDER BY ts_event, seq"
                    )
                    projector = _Projector(cursor)
                    async for entry in log_cursor:
                        events += 1
                        try:
                            facts = facts_of_payload(entry["type"], entry["payload"])
                        except AnalyticsInputError as error:
                            skipped += 1
                            log.warning(
                                "rebuild skipped an event it cannot read",
                                extra={"event_id": str(entry["event_id"]), "reason": str(error)},
                            )
                            continue
                        if facts is not None:
                            await projector.project(int(entry["seq"]), entry["event_id"], facts)
                        applied += 1
        return RebuildResult(events=events, applied=applied, skipped=skipped)

    # -- reads: ReadModelReader -------------------------------------------------------------

    async def _fetch(
        self, sql: str, params: Sequence[Any] | dict[str, Any]
    ) -> list[dict[str, Any]]:
        with unavailable_on_connection_errors("read"):
            async with (
                self._db.connection() as connection,
                connection.cursor(row_factory=dict_row) as cursor,
            ):
                await cursor.execute(sql.encode(), params)
                return await cursor.fetchall()

    async def scope_exists(self, account_id: str, strategy_id: str | None) -> bool:
        rows = await self._fetch(
            "SELECT 1 FROM analytics.scopes WHERE account_id = %s AND strategy_id = %s",
            (account_id, strategy_id or ""),
        )
        return bool(rows)

    async def symbol_exists(self, account_id: str, strategy_id: str | None, symbol: str) -> bool:
        rows = await self._fetch(
            "SELECT 1 FROM analytics.positions WHERE account_id = %s AND symbol = %s "
            "AND (%s = '' OR strategy_id = %s) LIMIT 1",
            (account_id, symbol, strategy_id or "", strategy_id or ""),
        )
        return bool(rows)

    async def equity_rows(
        self,
        query: PerformanceQuery,
        resolution: Resolution,
        after: datetime | None,
        limit: int,
    ) -> list[ValuedPoint]:
        scope = (query.account_id, query.strategy_id or "")
        if resolution == "event":
            rows = await self._fetch(
                "SELECT * FROM analytics.equity_points WHERE account_id = %s AND strategy_id = %s "
                "AND (%s::timestamptz IS NULL OR at >= %s) "
                "AND (%s::timestamptz IS NULL OR at <= %s) "
                "AND (%s::timestamptz IS NULL OR at > %s) ORDER BY at LIMIT %s",
                (*scope, query.start, query.start, query.end, query.end, after, after, limit),
            )
            return [_valued(row, row["at"]) for row in rows]
        first, last = days_covered(query.start, query.end)
        after_day = utc_day(after) if after is not None else None
        rows = await self._fetch(
            "SELECT * FROM analytics.equity_daily WHERE account_id = %s AND strategy_id = %s "
            "AND (%s::date IS NULL OR day >= %s) AND (%s::date IS NULL OR day <= %s) "
            "AND (%s::date IS NULL OR day > %s) ORDER BY day LIMIT %s",
            (*scope, first, first, last, last, after_day, after_day, limit),
        )
        return [_valued(row, day_close(row["day"])) for row in rows]

    async def pnl_days(self, query: PerformanceQuery, last_day: date | None) -> list[PnlDay]:
        rows = await self._fetch(
            "SELECT * FROM analytics.pnl_daily WHERE account_id = %s "
            "AND (%s = '' OR strategy_id = %s) AND (%s = '' OR symbol = %s) "
            "AND (%s::date IS NULL OR day <= %s) ORDER BY strategy_id, symbol, day",
            (
                query.account_id,
                query.strategy_id or "",
                query.strategy_id or "",
                query.symbol or "",
                query.symbol or "",
                last_day,
                last_day,
            ),
        )
        return [
            PnlDay(
                strategy_id=row["strategy_id"],
                symbol=row["symbol"],
                day=row["day"],
                realized=row["realized"],
                fees=row["fees"],
                turnover=row["turnover"],
                fills=row["fills"],
                qty=row["qty"],
                market_value=row["market_value"],
                unrealized=row["unrealized"],
                pnl_to_date=row["pnl_to_date"],
            )
            for row in rows
        ]

    # -- reads: EquityCurveSource, TradeHistory, BenchmarkSource ----------------------------

    async def equity_curve(self, query: PerformanceQuery) -> list[EquityPoint]:
        """The daily curve (one point per active day, at the day's close)."""
        first, last = days_covered(query.start, query.end)
        if query.symbol is None:
            rows = await self._fetch(
                "SELECT day, equity, long_value - short_value AS gross FROM analytics.equity_daily "
                "WHERE account_id = %s AND strategy_id = %s AND (%s::date IS NULL OR day >= %s) "
                "AND (%s::date IS NULL OR day <= %s) ORDER BY day",
                (query.account_id, query.strategy_id or "", first, first, last, last),
            )
            return [EquityPoint(day_close(row["day"]), row["equity"], row["gross"]) for row in rows]
        cash = await self._fetch(
            "SELECT starting_cash FROM analytics.accounts WHERE account_id = %s",
            (query.account_id,),
        )
        if not cash:
            return []
        pnl = await self.pnl_days(query, last)
        days = await self._fetch(
            "SELECT day FROM analytics.active_days WHERE (%s::date IS NULL OR day <= %s) "
            "ORDER BY day",
            (last, last),
        )
        curve = positions_curve(cash[0]["starting_cash"], pnl, [row["day"] for row in days])
        return [point for point in curve if first is None or point.at.date() >= first]

    async def closed_trades(self, query: PerformanceQuery) -> list[ClosedTrade]:
        rows = await self._fetch(
            "SELECT strategy_id, symbol, closed_at, pnl FROM analytics.round_trips "
            "WHERE account_id = %s AND (%s = '' OR strategy_id = %s) AND (%s = '' OR symbol = %s) "
            "AND (%s::timestamptz IS NULL OR closed_at >= %s) "
            "AND (%s::timestamptz IS NULL OR closed_at <= %s) "
            "ORDER BY closed_at, strategy_id, symbol, trip_no",
            (
                query.account_id,
                query.strategy_id or "",
                query.strategy_id or "",
                query.symbol or "",
                query.symbol or "",
                query.start,
                query.start,
                query.end,
                query.end,
            ),
        )
        return [
            ClosedTrade(row["strategy_id"], row["symbol"], row["closed_at"], row["pnl"])
            for row in rows
        ]

    async def closes(
        self, symbol: str, start: datetime | None, end: datetime | None
    ) -> list[PricePoint]:
        """Daily closes: the last quote (mid) or bar close of each UTC day from the day of
        ``start`` to ``end``, stamped when it was observed."""
        first_day = utc_day(start) if start is not None else None
        rows = await self._fetch(
            "SELECT DISTINCT ON ((at AT TIME ZONE 'UTC')::date) at, price FROM analytics.marks "
            "WHERE symbol = %s AND source IN ('quote', 'bar') "
            "AND (%s::date IS NULL OR at >= (%s::date::timestamp AT TIME ZONE 'UTC')) "
            "AND (%s::timestamptz IS NULL OR at <= %s) "
            "ORDER BY (at AT TIME ZONE 'UTC')::date, at DESC",
            (symbol, first_day, first_day, end, end),
        )
        return [PricePoint(row["at"], row["price"]) for row in rows]


class _Projector:
    """Projects one event's facts inside the writer's transaction."""

    def __init__(self, cursor: psycopg.AsyncCursor[dict[str, Any]]) -> None:
        self._cursor = cursor

    async def _all(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[dict[str, Any]]:
        await self._cursor.execute(sql.encode(), params)
        return await self._cursor.fetchall()

    async def _one(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> dict[str, Any] | None:
        await self._cursor.execute(sql.encode(), params)
        return await self._cursor.fetchone()

    async def project(self, seq: int, event_id: Any, facts: EventFacts) -> None:
        windows: dict[Scope, _Window] = {}
        pnl_windows: dict[Key, _Window] = {}

        def widen(
            target: dict[Any, _Window], key: Any, since: datetime, until: datetime | None
        ) -> None:
            if key in target:
                target[key].widen(since, until)
            else:
                target[key] = _Window(since, until)

        days = await self._one(
            "WITH added AS (INSERT INTO analytics.active_days (day) VALUES (%s) "
            "  ON CONFLICT DO NOTHING RETURNING day) "
            "SELECT (SELECT day FROM added) AS added, "
            "greatest((SELECT max(day) FROM analytics.active_days), %s::date) AS last",
            (facts.day, facts.day),
        )
        assert days is not None
        new_day: date | None = days["added"]
        last_day: date = days["last"]
        for account in facts.accounts:
            await self._cursor.execute(
                b"INSERT INTO analytics.accounts (account_id, starting_cash) VALUES (%s, %s) "
                b"ON CONFLICT DO NOTHING",
                (account.account_id, account.starting_cash),
            )
            await self._ensure_scope((account.account_id, ""))
        for fill in facts.fills:
            if not await self._record_fill(seq, event_id, fill):
                continue
            key: Key = (fill.account_id, fill.strategy_id, fill.symbol)
            await self._refold(key, fill.at, seq)
            widen(windows, (fill.account_id, ""), fill.at, None)
            widen(windows, (fill.account_id, fill.strategy_id), fill.at, None)
            widen(pnl_windows, key, fill.at, None)
        for mark in facts.marks:
            if not await self._record_mark(seq, event_id, mark):
                continue
            until, scopes, keys = await self._holders(mark.symbol, mark.at)
            for scope in scopes:
                widen(windows, scope, mark.at, until)
            for key in keys:
                widen(pnl_windows, key, mark.at, until)
        for bar in facts.bars:
            await self._cursor.execute(
                b"INSERT INTO analytics.bars (symbol, timeframe, at, ts_open, open, high, low, "
                b"close, volume, event_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                b"ON CONFLICT (symbol, timeframe, at) DO UPDATE SET ts_open = EXCLUDED.ts_open, "
                b"open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, "
                b"close = EXCLUDED.close, volume = EXCLUDED.volume, event_id = EXCLUDED.event_id "
                b"WHERE EXCLUDED.event_id > bars.event_id",
                (
                    bar.symbol,
                    bar.timeframe,
                    bar.at,
                    bar.ts_open,
                    bar.open,
                    bar.high,
                    bar.low,
                    bar.close,
                    bar.volume,
                    event_id,
                ),
            )
        if not windows and not pnl_windows and new_day is None:
            return
        for scope, window in sorted(windows.items()):
            await self._revalue(scope, window.since, window.until)
        for (first, last), scope_group in _by_days(windows, last_day).items():
            await self._refresh_equity_daily(scope_group, first, last)
        for (first, last), key_group in _by_days(pnl_windows, last_day).items():
            await self._refresh_pnl_daily(key_group, first, last)
        if new_day is not None:
            await self._refresh_equity_daily(None, new_day, new_day)
            await self._refresh_pnl_daily(None, new_day, new_day)

    # -- facts -------------------------------------------------------------------------------

    async def _ensure_scope(self, scope: Scope) -> None:
        await self._cursor.execute(
            b"INSERT INTO analytics.scopes (account_id, strategy_id) VALUES (%s, %s) "
            b"ON CONFLICT DO NOTHING",
            scope,
        )

    async def _record_fill(self, seq: int, event_id: Any, fill: FillFact) -> bool:
        inserted = await self._one(
            "INSERT INTO analytics.fills (event_id, seq, fill_id, order_id, account_id, "
            "strategy_id, symbol, at, side, qty, price, fee) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING seq",
            (
                event_id,
                seq,
                fill.fill_id,
                fill.order_id,
                fill.account_id,
                fill.strategy_id,
                fill.symbol,
                fill.at,
                fill.side,
                fill.qty,
                fill.price,
                fill.fee,
            ),
        )
        if inserted is None:
            log.warning(
                "fill already recorded under another event id: ignored",
                extra={"fill_id": str(fill.fill_id), "event_id": str(event_id)},
            )
            return False
        await self._ensure_scope((fill.account_id, fill.strategy_id))
        await self._cursor.execute(
            b"INSERT INTO analytics.positions (account_id, strategy_id, symbol) "
            b"VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (fill.account_id, fill.strategy_id, fill.symbol),
        )
        return True

    async def _record_mark(self, seq: int, event_id: Any, mark: MarkFact) -> bool:
        changed = await self._one(
            "INSERT INTO analytics.marks (symbol, at, price, source, rank, seq, event_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (symbol, at) DO UPDATE SET price = EXCLUDED.price, "
            "source = EXCLUDED.source, rank = EXCLUDED.rank, seq = EXCLUDED.seq, "
            "event_id = EXCLUDED.event_id "
            "WHERE (EXCLUDED.rank, EXCLUDED.seq) > (marks.rank, marks.seq) RETURNING 1 AS changed",
            (mark.symbol, mark.at, mark.price, mark.source, mark.rank, seq, event_id),
        )
        return changed is not None

    # -- positions ---------------------------------------------------------------------------

    async def _refold(self, key: Key, since: datetime, seq: int) -> None:
        """Re-fold the position's ledger from the fill (since, seq) on."""
        where = "account_id = %s AND strategy_id = %s AND symbol = %s"
        base = await self._one(
            f"SELECT * FROM analytics.position_steps WHERE {where} AND (at, seq) < (%s, %s) "
            "ORDER BY at DESC, seq DESC LIMIT 1",
            (*key, since, seq),
        )
        state = _state_of(base)
        fills = await self._all(
            f"SELECT at, seq, event_id, side, qty, price, fee FROM analytics.fills WHERE {where} "
            "AND (at, seq) >= (%s, %s) ORDER BY at, seq",
            (*key, since, seq),
        )
        steps, trips = fold_fills(
            state,
            (
                Fill(row["at"], row["seq"], row["side"], row["qty"], row["price"], row["fee"])
                for row in fills
            ),
        )
        event_ids = {row["seq"]: row["event_id"] for row in fills}
        await self._cursor.execute(
            f"DELETE FROM analytics.position_steps WHERE {where} "
            "AND (at, seq) >= (%s, %s)".encode(),
            (*key, since, seq),
        )
        first_trip = state.trips if state.is_open else state.trips + 1
        await self._cursor.execute(
            f"DELETE FROM analytics.round_trips WHERE {where} AND trip_no >= %s".encode(),
            (*key, first_trip),
        )
        await self._insert_steps(key, steps, event_ids)
        await self._insert_trips(key, trips)

    async def _insert_steps(
        self, key: Key, steps: Iterable[PositionStep], event_ids: dict[int, Any]
    ) -> None:
        rows = [
            (
                *key,
                step.fill.at,
                step.fill.seq,
                event_ids[step.fill.seq],
                step.fill.signed_qty,
                step.fill.price,
                step.fill.fee,
                step.notional,
                step.realized_delta,
                step.after.qty,
                step.after.avg_cost,
                step.after.realized,
                step.after.fees,
                step.after.turnover,
                step.after.cash_flow,
                step.after.fills,
                step.after.trips,
                step.after.trip_opened_at,
                step.after.trip_realized,
                step.after.trip_fees,
                step.after.trip_fills,
                step.after.trip_peak_qty,
            )
            for step in steps
        ]
        if rows:
            await self._cursor.executemany(
                b"INSERT INTO analytics.position_steps (account_id, strategy_id, symbol, at, seq, "
                b"event_id, fill_qty, fill_price, fee, notional, realized_delta, qty, avg_cost, "
                b"realized, fees, turnover, cash_flow, fills, trips, trip_opened_at, "
                b"trip_realized, trip_fees, trip_fills, trip_peak_qty) VALUES (%s, %s, %s, %s, "
                b"%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )

    async def _insert_trips(self, key: Key, trips: Iterable[RoundTrip]) -> None:
        rows = [
            (
                *key,
                trip.trip_no,
                trip.direction,
                trip.opened_at,
                trip.closed_at,
                trip.peak_qty,
                trip.fills,
                trip.realized,
                trip.fees,
                trip.pnl,
            )
            for trip in trips
        ]
        if rows:
            await self._cursor.executemany(
                b"INSERT INTO analytics.round_trips (account_id, strategy_id, symbol, trip_no, "
                b"direction, opened_at, closed_at, peak_qty, fills, realized, fees, pnl) "
                b"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )

    async def _holders(
        self, symbol: str, at: datetime
    ) -> tuple[datetime | None, set[Scope], set[Key]]:
        """The symbol's next mark after ``at``, and the scopes and positions with a non-zero
        net quantity of it at ``at`` (until that next mark, only a fill could change them, and
        a fill is a mark)."""
        rows = await self._all(
            "SELECT n.next_at, h.account_id, h.strategy_id, h.qty "
            "FROM (SELECT min(at) AS next_at FROM analytics.marks "
            "  WHERE symbol = %(symbol)s AND at > %(at)s) n "
            "LEFT JOIN LATERAL (SELECT p.account_id, p.strategy_id, s.qty "
            "  FROM analytics.positions p "
            "  CROSS JOIN LATERAL (SELECT qty FROM analytics.position_steps s "
            "    WHERE s.account_id = p.account_id AND s.strategy_id = p.strategy_id "
            "    AND s.symbol = p.symbol AND s.at <= %(at)s "
            "    ORDER BY s.at DESC, s.seq DESC LIMIT 1) s "
            "  WHERE p.symbol = %(symbol)s) h ON true",
            {"symbol": symbol, "at": at},
        )
        scopes: set[Scope] = set()
        keys: set[Key] = set()
        net: dict[str, Decimal] = {}
        for row in rows:
            if row["account_id"] is None:
                continue
            net[row["account_id"]] = net.get(row["account_id"], Decimal(0)) + row["qty"]
            if row["qty"] != 0:
                scopes.add((row["account_id"], row["strategy_id"]))
                keys.add((row["account_id"], row["strategy_id"], symbol))
        scopes.update((account, "") for account, qty in net.items() if qty != 0)
        return rows[0]["next_at"], scopes, keys

    # -- equity ------------------------------------------------------------------------------

    async def _revalue(self, scope: Scope, since: datetime, until: datetime | None) -> None:
        """Re-derive the scope's equity points in [since, until)."""
        account_id, strategy_id = scope
        params = {"account": account_id, "strategy": strategy_id, "since": since, "until": until}
        rows = await self._all(
            "SELECT 'cash' AS kind, NULL::timestamptz AS at, NULL::bigint AS seq, "
            "  NULL::text AS strategy_id, NULL::text AS symbol, starting_cash AS qty, "
            "  NULL::numeric AS avg_cost, NULL::numeric AS cash_flow, NULL::numeric AS realized, "
            "  NULL::numeric AS fees "
            "FROM analytics.accounts WHERE account_id = %(account)s "
            "UNION ALL "
            "SELECT 'base', NULL, NULL, p.strategy_id, p.symbol, s.qty, s.avg_cost, s.cash_flow, "
            "  s.realized, s.fees FROM analytics.positions p "
            "CROSS JOIN LATERAL (SELECT qty, avg_cost, cash_flow, realized, fees "
            "  FROM analytics.position_steps s WHERE s.account_id = p.account_id "
            "  AND s.strategy_id = p.strategy_id AND s.symbol = p.symbol AND s.at < %(since)s "
            "  ORDER BY s.at DESC, s.seq DESC LIMIT 1) s "
            "WHERE p.account_id = %(account)s "
            "  AND (%(strategy)s = '' OR p.strategy_id = %(strategy)s) "
            "UNION ALL "
            "SELECT 'change', at, seq, strategy_id, symbol, qty, avg_cost, cash_flow, realized, "
            "  fees FROM analytics.position_steps WHERE account_id = %(account)s "
            "  AND (%(strategy)s = '' OR strategy_id = %(strategy)s) AND at >= %(since)s "
            "  AND (%(until)s::timestamptz IS NULL OR at < %(until)s)",
            params,
        )
        cash = [row["qty"] for row in rows if row["kind"] == "cash"]
        if not cash:
            raise AnalyticsInputError(f"account {account_id!r} has fills but no starting cash")
        base = {
            (row["strategy_id"], row["symbol"]): _holding(row)
            for row in rows
            if row["kind"] == "base"
        }
        changes = sorted(
            (
                HoldingChange(
                    row["at"], row["seq"], (row["strategy_id"], row["symbol"]), _holding(row)
                )
                for row in rows
                if row["kind"] == "change"
            ),
            key=lambda change: (change.at, change.seq),
        )
        symbols = sorted(
            {symbol for (_, symbol), holding in base.items() if holding.qty != 0}
            | {change.key[1] for change in changes}
        )
        base_marks: dict[str, Decimal] = {}
        marks: list[Mark] = []
        if symbols:
            for row in await self._all(
                "SELECT 'base' AS kind, s.symbol, NULL::timestamptz AS at, m.price "
                "FROM unnest(%(symbols)s::text[]) AS s(symbol) "
                "CROSS JOIN LATERAL (SELECT price FROM analytics.marks m "
                "  WHERE m.symbol = s.symbol AND m.at < %(since)s ORDER BY m.at DESC LIMIT 1) m "
                "UNION ALL "
                "SELECT 'window', symbol, at, price FROM analytics.marks "
                "WHERE symbol = ANY(%(symbols)s) AND at >= %(since)s "
                "  AND (%(until)s::timestamptz IS NULL OR at < %(until)s)",
                {"symbols": symbols, "since": since, "until": until},
            ):
                if row["kind"] == "base":
                    base_marks[row["symbol"]] = row["price"]
                else:
                    marks.append(Mark(row["at"], row["symbol"], row["price"]))
            marks.sort(key=lambda mark: (mark.at, mark.symbol))
        points = value_scope(cash[0], base, base_marks, changes, marks)
        async with self._cursor.connection.pipeline():
            await self._cursor.execute(
                b"DELETE FROM analytics.equity_points WHERE account_id = %(account)s "
                b"AND strategy_id = %(strategy)s AND at >= %(since)s "
                b"AND (%(until)s::timestamptz IS NULL OR at < %(until)s)",
                params,
            )
            if points:
                await self._cursor.executemany(
                    b"INSERT INTO analytics.equity_points (account_id, strategy_id, at, equity, "
                    b"cash, long_value, short_value, realized, unrealized, fees) "
                    b"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        (
                            account_id,
                            strategy_id,
                            point.at,
                            point.equity,
                            point.cash,
                            point.long_value,
                            point.short_value,
                            point.realized,
                            point.unrealized,
                            point.fees,
                        )
                        for point in points
                    ],
                )

    async def _refresh_equity_daily(
        self, scopes: Sequence[Scope] | None, first: date, last: date
    ) -> None:
        """Re-derive the daily rows of ``scopes`` (``None``: all) for the active days in
        [first, last]: the last point at or before each day's end, and the day's fills."""
        if first > last:
            return
        if scopes is None:
            target = "SELECT account_id, strategy_id FROM analytics.scopes"
            params: dict[str, Any] = {"first": first, "last": last}
        else:
            target = "SELECT * FROM unnest(%(accounts)s::text[], %(strategies)s::text[])"
            params = {
                "first": first,
                "last": last,
                "accounts": [scope[0] for scope in scopes],
                "strategies": [scope[1] for scope in scopes],
            }
        day_start = _DAY_START.format(day="d.day")
        day_end = _DAY_END.format(day="d.day")
        async with self._cursor.connection.pipeline():
            await self._equity_daily_statements(target, params, day_start, day_end)

    async def _equity_daily_statements(
        self, target: str, params: dict[str, Any], day_start: str, day_end: str
    ) -> None:
        await self._cursor.execute(
            f"WITH target (account_id, strategy_id) AS ({target}) "
            "DELETE FROM analytics.equity_daily e USING target t "
            "WHERE e.account_id = t.account_id AND e.strategy_id = t.strategy_id "
            "AND e.day BETWEEN %(first)s AND %(last)s".encode(),
            params,
        )
        await self._cursor.execute(
            f"WITH target (account_id, strategy_id) AS ({target}) "
            "INSERT INTO analytics.equity_daily (account_id, strategy_id, day, equity, cash, "
            "long_value, short_value, realized, unrealized, fees, day_realized, day_fees, "
            "day_turnover, day_fills) "
            "SELECT t.account_id, t.strategy_id, d.day, p.equity, p.cash, p.long_value, "
            "p.short_value, p.realized, p.unrealized, p.fees, coalesce(f.realized, 0), "
            "coalesce(f.fees, 0), coalesce(f.turnover, 0), coalesce(f.fills, 0) "
            "FROM target t JOIN analytics.active_days d ON d.day BETWEEN %(first)s AND %(last)s "
            "CROSS JOIN LATERAL (SELECT * FROM analytics.equity_points p "
            "  WHERE p.account_id = t.account_id AND p.strategy_id = t.strategy_id "
            f"  AND p.at < {day_end} ORDER BY p.at DESC LIMIT 1) p "
            "LEFT JOIN LATERAL (SELECT sum(s.realized_delta) AS realized, sum(s.fee) AS fees, "
            "  sum(s.notional) AS turnover, count(*) AS fills FROM analytics.position_steps s "
            "  WHERE s.account_id = t.account_id "
            "  AND (t.strategy_id = '' OR s.strategy_id = t.strategy_id) "
            f"  AND s.at >= {day_start} AND s.at < {day_end}) f ON true".encode(),
            params,
        )

    async def _refresh_pnl_daily(self, keys: Sequence[Key] | None, first: date, last: date) -> None:
        """Re-derive the daily P&L rows of the positions ``keys`` (``None``: all) for the active
        days in [first, last]."""
        if first > last:
            return
        if keys is None:
            target = "SELECT account_id, strategy_id, symbol FROM analytics.positions"
            params: dict[str, Any] = {"first": first, "last": last}
        else:
            target = (
                "SELECT * FROM unnest(%(accounts)s::text[], %(strategies)s::text[], "
                "%(symbols)s::text[])"
            )
            params = {
                "first": first,
                "last": last,
                "accounts": [key[0] for key in keys],
                "strategies": [key[1] for key in keys],
                "symbols": [key[2] for key in keys],
            }
        day_start = _DAY_START.format(day="d.day")
        day_end = _DAY_END.format(day="d.day")
        async with self._cursor.connection.pipeline():
            await self._pnl_daily_statements(target, params, day_start, day_end)

    async def _pnl_daily_statements(
        self, target: str, params: dict[str, Any], day_start: str, day_end: str
    ) -> None:
        same_key = (
            "s.account_id = t.account_id AND s.strategy_id = t.strategy_id AND s.symbol = t.symbol"
        )
        await self._cursor.execute(
            f"WITH target (account_id, strategy_id, symbol) AS ({target}) "
            "DELETE FROM analytics.pnl_daily e USING target t "
            "WHERE e.account_id = t.account_id AND e.strategy_id = t.strategy_id "
            "AND e.symbol = t.symbol AND e.day BETWEEN %(first)s AND %(last)s".encode(),
            params,
        )
        await self._cursor.execute(
            f"WITH target (account_id, strategy_id, symbol) AS ({target}) "
            "INSERT INTO analytics.pnl_daily (account_id, strategy_id, symbol, day, realized, "
            "fees, turnover, fills, qty, avg_cost, mark, market_value, unrealized, pnl_to_date) "
            "SELECT t.account_id, t.strategy_id, t.symbol, d.day, coalesce(f.realized, 0), "
            "coalesce(f.fees, 0), coalesce(f.turnover, 0), f.fills, s.qty, s.avg_cost, m.price, "
            "s.qty * m.price, s.qty * (m.price - s.avg_cost), "
            "s.realized - s.fees + s.qty * (m.price - s.avg_cost) "
            "FROM target t JOIN analytics.active_days d ON d.day BETWEEN %(first)s AND %(last)s "
            "CROSS JOIN LATERAL (SELECT qty, avg_cost, realized, fees "
            f"  FROM analytics.position_steps s WHERE {same_key} AND s.at < {day_end} "
            "  ORDER BY s.at DESC, s.seq DESC LIMIT 1) s "
            "CROSS JOIN LATERAL (SELECT coalesce((SELECT mk.price FROM analytics.marks mk "
            f"  WHERE mk.symbol = t.symbol AND mk.at < {day_end} ORDER BY mk.at DESC LIMIT 1), "
            "  s.avg_cost) AS price) m "
            "CROSS JOIN LATERAL (SELECT sum(x.realized_delta) AS realized, sum(x.fee) AS fees, "
            "  sum(x.notional) AS turnover, count(*) AS fills FROM analytics.position_steps x "
            "  WHERE x.account_id = t.account_id AND x.strategy_id = t.strategy_id "
            f"  AND x.symbol = t.symbol AND x.at >= {day_start} "
            f"  AND x.at < {day_end}) f "
            "WHERE s.qty <> 0 OR f.fills > 0".encode(),
            params,
        )


def _by_days(windows: dict[Any, _Window], last_day: date) -> dict[tuple[date, date], list[Any]]:
    """The windows' keys grouped by the days they cover (one refresh per group)."""
    groups: dict[tuple[date, date], list[Any]] = {}
    for key, window in sorted(windows.items()):
        days = (utc_day(window.since), utc_day(window.until) if window.until else last_day)
        groups.setdefault(days, []).append(key)
    return groups
