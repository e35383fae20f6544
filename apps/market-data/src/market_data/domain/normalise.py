"""Normalisation of provider records to the event contracts.

Every provider adapter maps its documented JSON onto these helpers, which enforce what the
platform relies on: ``Decimal`` prices and sizes (never binary floats), timezone-aware UTC
timestamps, and the contract's own rules (positive prices, uncrossed quotes, consistent bars).
A record that breaks any of them raises ``MalformedPayloadError`` with a reason a person can act
on; callers reject that record (logged), never publish it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import ValidationError

from trader_common.contracts import BarClosed, QuoteUpdated, TradePrinted

from .timeframes import DURATIONS, Timeframe

T = TypeVar("T")

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9./:-]{1,32}$")


class MalformedPayloadError(ValueError):
    """A provider payload, or one record of it, does not have the documented shape."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that was not published, and why."""

    provider: str
    reason: str
    record: str

    @classmethod
    def of(cls, provider: str, reason: str, record: object) -> Rejection:
        text = repr(record)
        return cls(provider, reason, text if len(text) <= 200 else text[:197] + "...")


def check_symbol(symbol: object) -> str:
    if not isinstance(symbol, str) or not SYMBOL_PATTERN.match(symbol):
        raise MalformedPayloadError(f"symbol {symbol!r} is not a valid platform symbol")
    return symbol


def to_decimal(value: object, field: str) -> Decimal:
    """A number from JSON (int, float or numeric string) as ``Decimal``.

    Floats go through their shortest ``repr`` so 187.3 becomes Decimal('187.3'), not the
    binary expansion. Booleans, NaN, infinities and non-numbers are rejected.
    """
    if isinstance(value, bool) or value is None:
        raise MalformedPayloadError(f"{field} is {value!r}, not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise MalformedPayloadError(f"{field} is {value!r}, not a finite number")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise MalformedPayloadError(f"{field} is {value!r}, not a number") from None
    else:
        raise MalformedPayloadError(f"{field} is a {type(value).__name__}, not a number")
    if not result.is_finite():
        raise MalformedPayloadError(f"{field} is {value!r}, not a finite number")
    return result


def to_utc(value: object, field: str) -> datetime:
    """An RFC 3339 string or an aware ``datetime`` as an aware UTC ``datetime``.

    Naive times are rejected: a provider that does not say which zone it means is ambiguous.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise MalformedPayloadError(f"{field} is {value!r}, not an RFC 3339 time") from None
    else:
        raise MalformedPayloadError(f"{field} is {value!r}, not a time")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise MalformedPayloadError(f"{field} is {value!r}, which has no time zone")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: in UTC before year 1
        raise MalformedPayloadError(
            f"{field} is {value!r}, which in UTC falls outside years 1-9999"
        ) from None


_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def from_epoch(value: object, field: str, *, unit: str = "s") -> datetime:
    """Unix time in seconds (``unit='s'``) or milliseconds (``unit='ms'``) as aware UTC."""
    number = to_decimal(value, field)
    seconds = number / 1000 if unit == "ms" else number
    try:
        parsed = datetime.fromtimestamp(float(seconds), UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedPayloadError(f"{field} is {value!r}, not a Unix time") from None
    if not _EARLIEST <= parsed < _LATEST:
        raise MalformedPayloadError(f"{field} is {value!r}, outside 1970-2200")
    return parsed


def require(record: object, *fields: str) -> dict[str, Any]:
    """``record`` as a dict holding every one of ``fields``."""
    if not isinstance(record, dict):
        raise MalformedPayloadError(f"expected an object, got {type(record).__name__}")
    missing = [name for name in fields if name not in record]
    if missing:
        raise MalformedPayloadError(f"missing field(s) {', '.join(missing)}")
    return record


def _contract_error(kind: str, exc: ValidationError) -> MalformedPayloadError:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or kind}: {err['msg']}" for err in exc.errors()
    )
    return MalformedPayloadError(f"{kind} breaks the contract: {problems}")


def make_quote(
    *,
    symbol: str,
    source: str,
    ts: datetime,
    bid: Decimal,
    ask: Decimal,
    bid_size: Decimal,
    ask_size: Decimal,
) -> QuoteUpdated:
    try:
        return QuoteUpdated(
            symbol=check_symbol(symbol),
            source=source,
            ts_event=ts,
            bid=bid,
            ask=ask,
            bid_size=bid_size,
            ask_size=ask_size,
        )
    except ValidationError as exc:
        raise _contract_error("quote", exc) from None


def make_last_price_quote(
    *, symbol: str, source: str, ts: datetime, price: Decimal
) -> QuoteUpdated:
    """A zero-width quote (bid = ask = last price, sizes 0) for providers that publish a last
    price but no book (Finnhub ``/quote``, CoinGecko ``/simple/price``)."""
    return make_quote(
        symbol=symbol,
        source=source,
        ts=ts,
        bid=price,
        ask=price,
        bid_size=Decimal(0),
        ask_size=Decimal(0),
    )


def make_trade(
    *, symbol: str, source: str, ts: datetime, price: Decimal, size: Decimal
) -> TradePrinted:
    try:
        return TradePrinted(
            symbol=check_symbol(symbol), source=source, ts_event=ts, price=price, size=size
        )
    except ValidationError as exc:
        raise _contract_error("trade", exc) from None


def make_bar(
    *,
    symbol: str,
    source: str,
    timeframe: Timeframe,
    ts_open: datetime,
    ts_close: datetime | None = None,
    open_: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: Decimal,
) -> BarClosed:
    """A closed bar; ``ts_close`` defaults to ``ts_open`` plus the timeframe."""
    closes = ts_close if ts_close is not None else ts_open + DURATIONS[timeframe]
    try:
        return BarClosed(
            symbol=check_symbol(symbol),
            source=source,
            timeframe=timeframe,
            ts_open=ts_open,
            ts_event=closes,
            open=open_,
            high=high,
            low=low,
            close=close,
            volume=volume,
        )
    except ValidationError as exc:
        raise _contract_error("bar", exc) from None


def collect(
    provider: str, records: Iterable[T], convert: Callable[[T], Any]
) -> tuple[list[Any], list[Rejection]]:
    """Convert each record; the ones that raise ``MalformedPayloadError`` come back rejected.
    A converter may return ``None`` to skip a record that is legitimately empty."""
    accepted: list[Any] = []
    rejected: list[Rejection] = []
    for record in records:
        try:
            result = convert(record)
        except MalformedPayloadError as exc:
            rejected.append(Rejection.of(provider, str(exc), record))
            continue
        if result is not None:
            accepted.append(result)
    return accepted, rejected


def half_open_filter(ts: datetime, start: datetime | None, end: datetime | None) -> bool:
    """``start <= ts < end`` with open bounds when ``None``."""
    return (start is None or ts >= start) and (end is None or ts < end)


ONE_MICROSECOND = timedelta(microseconds=1)
