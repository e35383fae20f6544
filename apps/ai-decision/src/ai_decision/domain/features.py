"""Per-symbol features from bars and quotes — pure functions, no I/O.

Every feature computed "as of bar i" uses bars up to and including bar i and nothing after it,
over a fixed lookback window (:data:`LOOKBACK_BARS`), so the result does not depend on how much
history happens to be stored nor on bars that arrived later. Price-denominated values are
``Decimal``; dimensionless statistics (returns, volatility, RSI, normalised MACD, z-scores) are
floats, ``None`` while there are too few bars to compute them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported where it computes, keeping process start fast
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

LOOKBACK_BARS = 120
RETURN_WINDOWS = (1, 5, 20, 60)
VOL_WINDOW = 20
RSI_PERIOD = 14
ATR_PERIOD = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
VOLUME_Z_WINDOW = 20
PRICE_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class BarPoint:
    """One closed OHLCV bar; ``ts_close`` is when it became known."""

    ts_open: datetime
    ts_close: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class QuotePoint:
    ts: datetime
    bid: Decimal
    ask: Decimal


@dataclass(frozen=True, slots=True)
class TradePoint:
    ts: datetime
    price: Decimal
    size: Decimal


@dataclass(frozen=True, slots=True)
class BarFeatures:
    """Features as of one bar's close (``as_of``)."""

    as_of: datetime
    bars_used: int
    close: Decimal
    ret_1: float | None = None
    ret_5: float | None = None
    ret_20: float | None = None
    ret_60: float | None = None
    volatility_20: float | None = None
    rsi_14: float | None = None
    macd: float | None = None
    macd_signal: float | None = None
    macd_hist: float | None = None
    atr_14: Decimal | None = None
    atr_pct: float | None = None
    volume_z_20: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
            elif isinstance(value, Decimal):
                out[key] = str(value)
            else:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BarFeatures:
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            if f.name == "as_of":
                kwargs[f.name] = datetime.fromisoformat(str(value))
            elif f.name in ("close", "atr_14"):
                kwargs[f.name] = None if value is None else Decimal(str(value))
            elif f.name == "bars_used":
                kwargs[f.name] = int(value or 0)
            else:
                kwargs[f.name] = None if value is None else float(value)
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class FeatureVector:
    """What a decision made at ``as_of`` may know about a symbol: the latest bar features and
    quote and trade at or before ``as_of``, and nothing later."""

    symbol: str
    as_of: datetime
    bars: BarFeatures | None
    quote: QuotePoint | None
    last_trade: TradePoint | None

    @property
    def mid(self) -> Decimal | None:
        if self.quote is None:
            return None
        return ((self.quote.bid + self.quote.ask) / 2).quantize(PRICE_QUANTUM)

    @property
    def spread(self) -> Decimal | None:
        return None if self.quote is None else self.quote.ask - self.quote.bid

    @property
    def spread_bps(self) -> float | None:
        mid, spread = self.mid, self.spread
        if mid is None or spread is None or mid <= 0:
            return None
        return float(spread / mid) * 10_000

    @property
    def bar_age_seconds(self) -> float | None:
        return None if self.bars is None else (self.as_of - self.bars.as_of).total_seconds()

    @property
    def reference_price(self) -> Decimal | None:
        """The freshest price known at ``as_of``: quote mid, last trade or last close."""
        candidates: list[tuple[datetime, Decimal]] = []
        if self.quote is not None and (mid := self.mid) is not None:
            candidates.append((self.quote.ts, mid))
        if self.last_trade is not None:
            candidates.append((self.last_trade.ts, self.last_trade.price))
        if self.bars is not None:
            candidates.append((self.bars.as_of, self.bars.close))
        if not candidates:
            return None
        return max(candidates, key=lambda c: c[0])[1]

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "as_of": self.as_of.isoformat(),
            "bars": None if self.bars is None else self.bars.to_json(),
            "quote": None
            if self.quote is None
            else {
                "ts": self.quote.ts.isoformat(),
                "bid": str(self.quote.bid),
                "ask": str(self.quote.ask),
            },
            "last_trade": None
            if self.last_trade is None
            else {
                "ts": self.last_trade.ts.isoformat(),
                "price": str(self.last_trade.price),
                "size": str(self.last_trade.size),
            },
            "mid": None if self.mid is None else str(self.mid),
            "spread": None if self.spread is None else str(self.spread),
            "spread_bps": _round(self.spread_bps),
            "reference_price": None if self.reference_price is None else str(self.reference_price),
            "bar_age_seconds": self.bar_age_seconds,
        }


def feature_vector_from_json(data: dict[str, Any]) -> FeatureVector:
    """Inverse of :meth:`FeatureVector.to_json` (derived fields are recomputed)."""
    bars = data.get("bars")
    quote = data.get("quote")
    trade = data.get("last_trade")
    return FeatureVector(
        symbol=str(data["symbol"]),
        as_of=datetime.fromisoformat(str(data["as_of"])),
        bars=None if bars is None else BarFeatures.from_json(bars),
        quote=None
        if quote is None
        else QuotePoint(
            ts=datetime.fromisoformat(str(quote["ts"])),
            bid=Decimal(str(quote["bid"])),
            ask=Decimal(str(quote["ask"])),
        ),
        last_trade=None
        if trade is None
        else TradePoint(
            ts=datetime.fromisoformat(str(trade["ts"])),
            price=Decimal(str(trade["price"])),
            size=Decimal(str(trade["size"])),
        ),
    )


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _ema(values: FloatArray, span: int) -> FloatArray:
    import numpy as np

    alpha = 2.0 / (span + 1.0)
    out = np.empty_like(values)
    out[0] = values[0]
    for i in range(1, len(values)):
        out[i] = alpha * values[i] + (1.0 - alpha) * out[i - 1]
    return out


def _wilder(values: FloatArray, period: int) -> float:
    """Wilder's smoothing: seed with the mean of the first ``period`` values."""
    avg = float(values[:period].mean())
    for value in values[period:]:
        avg = (avg * (period - 1) + float(value)) / period
    return avg


def rsi(closes: FloatArray, period: int = RSI_PERIOD) -> float | None:
    import numpy as np

    if len(closes) < period + 1:
        return None
    changes = np.diff(closes)
    gains = np.clip(changes, 0.0, None)
    losses = np.clip(-changes, 0.0, None)
    avg_gain, avg_loss = _wilder(gains, period), _wilder(losses, period)
    if avg_loss == 0.0:
        return 100.0 if avg_gain > 0 else 50.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


def macd(closes: FloatArray) -> tuple[float, float, float] | None:
    if len(closes) < MACD_SLOW + MACD_SIGNAL:
        return None
    line = _ema(closes, MACD_FAST) - _ema(closes, MACD_SLOW)
    signal = _ema(line[MACD_SLOW - 1 :], MACD_SIGNAL)
    return float(line[-1]), float(signal[-1]), float(line[-1] - signal[-1])


def atr(
    highs: FloatArray, lows: FloatArray, closes: FloatArray, period: int = ATR_PERIOD
) -> float | None:
    import numpy as np

    if len(closes) < period + 1:
        return None
    prev = closes[:-1]
    true_range = np.maximum.reduce(
        [highs[1:] - lows[1:], np.abs(highs[1:] - prev), np.abs(lows[1:] - prev)]
    )
    return _wilder(true_range, period)


def volume_zscore(volumes: FloatArray, window: int = VOLUME_Z_WINDOW) -> float | None:

    if len(volumes) < window + 1:
        return None
    base = volumes[-window - 1 : -1]
    std = float(base.std(ddof=1))
    if std == 0.0:
        return None
    return (float(volumes[-1]) - float(base.mean())) / std


def compute_bar_features(bars: Sequence[BarPoint]) -> BarFeatures:
    """Features as of the last of ``bars`` (oldest first), over the last LOOKBACK_BARS."""
    import numpy as np

    if not bars:
        raise ValueError("features need at least one bar")
    window = bars[-LOOKBACK_BARS:]
    closes = np.array([float(b.close) for b in window], dtype=np.float64)
    highs = np.array([float(b.high) for b in window], dtype=np.float64)
    lows = np.array([float(b.low) for b in window], dtype=np.float64)
    volumes = np.array([float(b.volume) for b in window], dtype=np.float64)
    last = window[-1]
    n = len(window)

    returns: dict[str, float | None] = {}
    for k in RETURN_WINDOWS:
        returns[f"ret_{k}"] = _finite(closes[-1] / closes[-1 - k] - 1.0) if n > k else None

    vol: float | None = None
    if n > VOL_WINDOW:
        log_returns = np.diff(np.log(closes[-VOL_WINDOW - 1 :]))
        vol = _finite(float(log_returns.std(ddof=1)))

    macd_values = macd(closes)
    atr_value = atr(highs, lows, closes)
    close = float(last.close)
    return BarFeatures(
        as_of=last.ts_close,
        bars_used=n,
        close=last.close,
        ret_1=_round(returns["ret_1"]),
        ret_5=_round(returns["ret_5"]),
        ret_20=_round(returns["ret_20"]),
        ret_60=_round(returns["ret_60"]),
        volatility_20=_round(vol),
        rsi_14=_round(rsi(closes)),
        macd=_round(macd_values[0] / close) if macd_values else None,
        macd_signal=_round(macd_values[1] / close) if macd_values else None,
        macd_hist=_round(macd_values[2] / close) if macd_values else None,
        atr_14=None if atr_value is None else Decimal(repr(atr_value)).quantize(PRICE_QUANTUM),
        atr_pct=None if atr_value is None else _round(atr_value / close),
        volume_z_20=_round(volume_zscore(volumes)),
    )
