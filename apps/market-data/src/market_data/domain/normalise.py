"""Normalisation of provider records to the event contracts.

Every provider adapter maps its documented JSON onto these helpers, which enforce what the
platform relies on: ``Decimal`` prices and sizes (never binary floats) in a range arithmetic can
use, timezone-aware UTC timestamps, text that encodes as UTF-8, and the contract's own rules
(positive prices, uncrossed quotes, consistent bars). A record that breaks any of them raises
``MalformedPayloadError`` with a reason a person can act on, and nothing else: callers reject
that record (logged) and keep the others, never publish it.
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

LARGEST_NUMBER = Decimal("1E+24")
SMALLEST_NUMBER = Decimal("1E-24")
"""The magnitudes a provider number may take (zero aside). Far beyond any real price, size,
volume or market capitalisation, and small enough that what consumers compute from two of them
(a notional, a spread, a return) stays inside the default decimal context: ``Decimal`` reads
"1e999999999" as a finite number, but adding it to anything raises ``decimal.Overflow``."""

_SURROGATES = re.compile("[\ud800-\udfff]")


class MalformedPayloadError(ValueError):
    """A provider payload, or one record of it, does not have the documented shape."""


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages. Never raises (an int
    too long for ``repr``, a structure nested too deep)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (which JSON's ``\\ud800`` escapes can produce and UTF-8
    cannot encode) replaced by U+FFFD, so it can be logged and sent as JSON."""
    return _SURROGATES.sub("\ufffd", text)


def text_of(value: object, field: str) -> str:
    """A required, non-blank text field (stripped and cleaned)."""
    if not isinstance(value, str) or not value.strip():
        raise MalformedPayloadError(f"{field} is {shown(value)}, not a non-empty string")
    return clean_text(value.strip())


def identifier(value: object, field: str) -> str:
    """An id a provider gives as an integer or a non-empty string, as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > 256:
            raise MalformedPayloadError(f"{field} is an integer too long for an id")
        return str(value)
    return text_of(value, field)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that was not published, and why."""

    provider: str
    reason: str
    record: str

    @classmethod
    def of(cls, provider: str, reason: str, record: object) -> Rejection:
        return cls(provider, reason, shown(record, 200))


def check_symbol(symbol: object) -> str:
    if not isinstance(symbol, str) or not SYMBOL_PATTERN.match(symbol):
        raise MalformedPayloadError(f"symbol {shown(symbol)} is not a valid platform symbol")
    return symbol


def to_decimal(value: object, field: str) -> Decimal:
    """A number from JSON (int, float or numeric string) as ``Decimal``.

    Floats go through their shortest ``repr`` so 187.3 becomes Decimal('187.3'), not the
    binary expansion. Booleans, NaN, infinities, non-numbers and numbers whose magnitude is
    outside ``SMALLEST_NUMBER``..``LARGEST_NUMBER`` (zero aside) are rejected.
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
            raise MalformedPayloadError(f"{field} is {shown(value)}, not a number") from None
    else:
        raise MalformedPayloadError(f"{field} is a {type(value).__name__}, not a number")
    if not result.is_finite():
        raise MalformedPayloadError(f"{field} is {shown(value)}, not a finite number")
    if result.is_zero():  # 0E+999999999 is a zero too, written oddly: keep it plain
        in_range = SMALLEST_NUMBER.adjusted() <= result.adjusted() <= LARGEST_NUMBER.adjusted()
        return result if in_range else Decimal(0)
    if not SMALLEST_NUMBER <= result.copy_abs() <= LARGEST_NUMBER:  # abs() could overflow
        raise MalformedPayloadError(
            f"{field} is {shown(value)}, outside the range a market number may take "
            f"({SMALLEST_NUMBER} to {LARGEST_NUMBER} in magnitude)"
        )
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
            raise MalformedPayloadError(
                f"{field} is {shown(value)}, not an RFC 3339 time"
            ) from None
    else:
        raise MalformedPayloadError(f"{field} is {shown(value)}, not a time")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise MalformedPayloadError(f"{field} is {shown(value)}, which has no time zone")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: in UTC before year 1
        raise MalformedPayloadError(
            f"{field} is {shown(value)}, which in UTC falls outside years 1-9999"
        ) from None


EARLIEST_PROVIDER_TIME = datetime(1970, 1, 2, tzinfo=UTC)
LATEST_PROVIDER_TIME = datetime(2200, 1, 1, tzinfo=UTC)
"""A time a provider stamps on a record must fall in [1970-01-02, 2200-01-01): outside it, it
is an epoch in the wrong unit or junk, and a bar's close (its open plus the timeframe) or its
session in New York could not even be computed near the ends of the calendar."""


def check_provider_time(at: datetime, field: str, value: object) -> datetime:
    """``at`` (read from ``value``) if it is within the provider time range."""
    if not EARLIEST_PROVIDER_TIME <= at < LATEST_PROVIDER_TIME:
        raise MalformedPayloadError(f"{field} is {shown(value)}, outside 1970-2200")
    return at


def provider_time(value: object, field: str) -> datetime:
    """An RFC 3339 time from a provider (``to_utc``) within the provider time range."""
    return check_provider_time(to_utc(value, field), field, value)


def from_epoch(value: object, field: str, *, unit: str = "s") -> datetime:
    """Unix time in seconds (``unit='s'``) or milliseconds (``unit='ms'``) as aware UTC."""
    number = to_decimal(value, field)
    seconds = number / 1000 if unit == "ms" else number
    try:
        parsed = datetime.fromtimestamp(float(seconds), UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedPayloadError(f"{field} is {shown(value)}, not a Unix time") from None
    return check_provider_time(parsed, field, value)


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
    try:
        closes = ts_close if ts_close is not None else ts_open + DURATIONS[timeframe]
    except OverflowError:  # opens in the last minutes of year 9999
        raise MalformedPayloadError(
            f"bar opening {ts_open.isoformat()} would close after year 9999"
        ) from None
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
