"""Points as the read model stores them (money as Decimal, times timezone-aware UTC), and their
conversion to float64 series for the statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pandas as pd

from .errors import AnalyticsInputError
from .history import utc_series


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise AnalyticsInputError(
            f"{what} at {moment.isoformat()} has no timezone: times must be timezone-aware UTC"
        )


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Account (or strategy) equity at a moment, with the gross market value of the positions
    then open (zero when flat)."""

    at: datetime
    equity: Decimal
    position_value: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _require_aware(self.at, "equity point")
        if not self.equity.is_finite() or not self.position_value.is_finite():
            raise AnalyticsInputError(f"equity point at {self.at.isoformat()} is not finite")


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A closing price of a symbol (e.g. a benchmark) at a moment."""

    at: datetime
    price: Decimal

    def __post_init__(self) -> None:
        _require_aware(self.at, "price point")
        if not self.price.is_finite() or self.price <= 0:
            raise AnalyticsInputError(
                f"price at {self.at.isoformat()} must be positive, got {self.price}"
            )


def equity_series(points: Sequence[EquityPoint]) -> tuple[pd.Series, npt.NDArray[np.bool_]]:
    """The equity curve as a float64 UTC series, and for each return period (between two
    consecutive points) whether a position was open at its start — the exposure flags."""
    curve = utc_series(
        [point.at for point in points], [float(point.equity) for point in points], "equity curve"
    )
    curve.name = "equity"
    in_market = (
        np.fromiter(
            (point.position_value != 0 for point in points[:-1]),
            dtype=np.bool_,
            count=len(points) - 1,
        )
        if points
        else np.zeros(0, dtype=np.bool_)
    )
    return curve, in_market


def price_series(points: Sequence[PricePoint], name: str = "benchmark") -> pd.Series:
    """Closing prices as a float64 UTC series."""
    series = utc_series(
        [point.at for point in points], [float(point.price) for point in points], name
    )
    series.name = name
    return series
