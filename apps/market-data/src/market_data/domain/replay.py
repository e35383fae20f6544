"""Replay of historical bars: rows to contract bars, pacing, and quotes derived from bars.

Pure: the file adapter reads CSV/Parquet into rows; this module validates them and decides
what to publish when. Timing is relative to the data's own timestamps: speed 1 waits as long
between bars as the market did, speed N waits 1/N of that, speed 0 does not wait at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from trader_common.contracts import BarClosed, Event, QuoteUpdated

from .normalise import MalformedPayloadError, make_bar, make_quote, to_decimal, to_utc
from .sessions import Calendar, daily_session
from .timeframes import DURATIONS, Timeframe


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """One row of a replay file as read (values not yet validated)."""

    where: str
    symbol: str
    ts_open: object
    ts_close: object | None
    open: object
    high: object
    low: object
    close: object
    volume: object | None


def _as_datetime(value: object, field: str, naive_zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time(0, 0))
    elif isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise MalformedPayloadError(f"{field} {value!r} is not an ISO 8601 time") from None
    else:
        raise MalformedPayloadError(f"{field} {value!r} is not a time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_zone)
    return to_utc(parsed, field)


def _is_date_only(value: object) -> bool:
    if isinstance(value, datetime):
        return value.tzinfo is None and value.time() == time(0, 0)
    if isinstance(value, date):
        return True
    return isinstance(value, str) and len(value.strip()) == 10


def bar_from_row(
    row: ReplayRow,
    *,
    timeframe: Timeframe,
    calendar: Calendar,
    naive_zone: tzinfo = UTC,
    source: str = "replay",
) -> BarClosed:
    """A contract bar from a file row, or ``MalformedPayloadError`` naming the row.

    Daily rows that give only a date take the session of ``calendar`` (US equity: 09:30-16:00
    America/New_York); other rows without a close time close one timeframe after they open.
    Naive times are read in ``naive_zone``.
    """
    try:
        if row.ts_close is None and timeframe == "1Day" and _is_date_only(row.ts_open):
            day = _as_datetime(row.ts_open, "ts_open", UTC).date()
            opens, closes = daily_session(day, calendar)
        else:
            opens = _as_datetime(row.ts_open, "ts_open", naive_zone)
            closes = (
                _as_datetime(row.ts_close, "ts_close", naive_zone)
                if row.ts_close is not None
                else opens + DURATIONS[timeframe]
            )
        volume = to_decimal(row.volume, "volume") if row.volume is not None else Decimal(0)
        return make_bar(
            symbol=row.symbol,
            source=source,
            timeframe=timeframe,
            ts_open=opens,
            ts_close=closes,
            open_=to_decimal(row.open, "open"),
            high=to_decimal(row.high, "high"),
            low=to_decimal(row.low, "low"),
            close=to_decimal(row.close, "close"),
            volume=volume,
        )
    except MalformedPayloadError as exc:
        raise MalformedPayloadError(f"{row.where}: {exc}") from None
    except OverflowError:  # e.g. a bar opening at 9999-12-31T23:59 closes after year 9999
        raise MalformedPayloadError(
            f"{row.where}: ts_open {row.ts_open!r} or its close is outside the years 1-9999"
        ) from None


def check_series(bars: Sequence[BarClosed], where: str) -> None:
    """Bars of one symbol and timeframe must not repeat or overlap."""
    for earlier, later in itertools.pairwise(bars):
        if later.ts_open == earlier.ts_open:
            raise MalformedPayloadError(
                f"{where}: {later.symbol} has two {later.timeframe} bars opening at "
                f"{later.ts_open.isoformat()}"
            )
        if later.ts_open < earlier.ts_event:
            raise MalformedPayloadError(
                f"{where}: {later.symbol} bar opening {later.ts_open.isoformat()} overlaps the "
                f"bar before it (closes {earlier.ts_event.isoformat()})"
            )


def derive_quote(bar: BarClosed, spread_bps: Decimal, source: str = "replay") -> QuoteUpdated:
    """A quote at the bar's close: bid and ask ``spread_bps`` apart around the close price,
    on the close's own price grid (cents for 100.34, 1e-5 for 1.07219)."""
    exponent = bar.close.as_tuple().exponent
    decimals = max(2, -exponent if isinstance(exponent, int) else 2)
    quantum = Decimal(1).scaleb(-decimals)
    half = bar.close * spread_bps / Decimal(20_000)
    bid = (bar.close - half).quantize(quantum, ROUND_FLOOR)
    ask = (bar.close + half).quantize(quantum, ROUND_CEILING)
    if bid <= 0:
        bid = quantum
    if ask <= bid:
        ask = bid + quantum
    return make_quote(
        symbol=bar.symbol,
        source=source,
        ts=bar.ts_event,
        bid=bid,
        ask=ask,
        bid_size=Decimal(0),
        ask_size=Decimal(0),
    )


@dataclass(frozen=True, slots=True)
class ReplayStep:
    delay_seconds: float
    """How long to wait before publishing ``events``."""
    events: list[Event]
    at: datetime
    """The data time of the last bar in ``events`` (the replay's clock)."""


def schedule(
    bars: Sequence[BarClosed],
    speed: float,
    *,
    quote_spread_bps: Decimal | None = None,
    max_batch: int = 500,
) -> Iterator[ReplayStep]:
    """Bars grouped by close time, in time order, each group with the wait before it.

    At speed 0 consecutive groups are merged into batches of up to ``max_batch`` events. With
    ``quote_spread_bps`` a derived quote follows each bar.
    """
    if speed < 0:
        raise ValueError("speed must be 0 (as fast as possible) or positive")
    ordered = sorted(bars, key=lambda b: (b.ts_event, b.symbol, b.timeframe))
    previous: datetime | None = None
    pending: list[Event] = []
    pending_at: datetime | None = None
    index = 0
    while index < len(ordered):
        at = ordered[index].ts_event
        group: list[Event] = []
        while index < len(ordered) and ordered[index].ts_event == at:
            bar = ordered[index]
            group.append(bar)
            if quote_spread_bps is not None:
                group.append(derive_quote(bar, quote_spread_bps))
            index += 1
        if speed == 0:
            if pending_at is not None and len(pending) + len(group) > max_batch:
                yield ReplayStep(0.0, pending, pending_at)
                pending = []
            pending.extend(group)
            pending_at = at
            continue
        delay = 0.0 if previous is None else (at - previous).total_seconds() / speed
        previous = at
        yield ReplayStep(delay, group, at)
    if pending and pending_at is not None:
        yield ReplayStep(0.0, pending, pending_at)
