"""Performance metrics over a series of periodic simple returns.

Definitions follow empyrical (empyrical-reloaded 0.7) exactly and are written out in
docs/analytics-metrics.md; the contract tests hold every function to empyrical within 1e-9.

These are statistics over a series, not ledger amounts: they work on numpy float64 arrays
(money stays Decimal in events and stored amounts; see ``trades.py`` for trade P&Ls). Every
function is vectorised so the whole metric set over 1,000,000 points stays well under 100 ms.

Undefined results follow IEEE float rules, as empyrical does: ``nan`` when a figure has no
meaning (too few periods, no dispersion and no excess return), ``inf`` when a ratio's
denominator is exactly zero (e.g. Sortino with no downside).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from .errors import AnalyticsInputError
from .trades import WinLossStats, win_loss_stats

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

EQUITY_PERIODS_PER_YEAR: Final = 252
"""Trading days in a year: the annualisation factor for daily equity returns."""
CRYPTO_PERIODS_PER_YEAR: Final = 365
"""Calendar days in a year: crypto trades every day."""

AssetClass = Literal["equity", "crypto"]

# empyrical's beta treats a benchmark variance below this as zero (beta undefined).
_MIN_BENCHMARK_VARIANCE: Final = 1.0e-30


def periods_per_year_for(asset_class: AssetClass) -> int:
    """Daily annualisation factor for an asset class: 252 for equities, 365 for crypto."""
    if asset_class == "equity":
        return EQUITY_PERIODS_PER_YEAR
    if asset_class == "crypto":
        return CRYPTO_PERIODS_PER_YEAR
    raise AnalyticsInputError(f"unknown asset class {asset_class!r}: expected 'equity' or 'crypto'")


def check_periods_per_year(periods_per_year: float) -> float:
    """Return ``periods_per_year`` if it is a finite positive number, else raise."""
    if (
        isinstance(periods_per_year, bool)
        or not isinstance(periods_per_year, int | float)
        or not math.isfinite(periods_per_year)
        or periods_per_year <= 0
    ):
        raise AnalyticsInputError(
            f"periods per year must be a positive number, got {periods_per_year!r}"
        )
    return periods_per_year


def per_period_rate(annual_rate: float, periods_per_year: float) -> float:
    """Convert an annual rate to the equivalent per-period rate, geometrically:
    ``(1 + annual_rate) ** (1 / periods_per_year) - 1`` (compounding it back over a year gives
    ``annual_rate`` exactly). This is the conversion quantstats uses for ``rf`` and empyrical uses
    for Omega's ``required_return``; empyrical's Sharpe, Sortino and alpha take the per-period
    rate directly."""
    check_periods_per_year(periods_per_year)
    if not math.isfinite(annual_rate) or annual_rate <= -1.0:
        raise AnalyticsInputError(
            f"annual risk-free rate must be a finite number above -1 (-100%), got {annual_rate!r}"
        )
    if annual_rate == 0.0:
        return 0.0
    return float((1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0)


def as_returns(returns: npt.ArrayLike, *, name: str = "returns") -> FloatArray:
    """``returns`` as a 1-D float64 array of finite values, or a clear error."""
    try:
        array = np.asarray(returns, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise AnalyticsInputError(f"{name} must be numbers: {error}") from None
    if array.ndim != 1:
        raise AnalyticsInputError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise AnalyticsInputError(f"{name} is empty: at least one period is needed")
    # A finite sum means finite values (nan and inf propagate) at a fraction of the cost of an
    # element-wise check; only a non-finite sum (or an overflow) needs the element-wise look.
    if not math.isfinite(float(array.sum())):
        finite = np.isfinite(array)
        if not finite.all():
            index = int(np.argmin(finite))
            raise AnalyticsInputError(f"{name}[{index}] is {array[index]}: values must be finite")
    return array


def returns_from_equity(equity: npt.ArrayLike) -> FloatArray:
    """Simple returns ``equity[t] / equity[t-1] - 1`` of a positive equity curve (one fewer
    point than the curve)."""
    values = as_returns(equity, name="equity")
    if values.size < 2:
        raise AnalyticsInputError("equity needs at least 2 points to give one return")
    if (values <= 0).any():
        index = int(np.argmax(values <= 0))
        raise AnalyticsInputError(f"equity[{index}] is {values[index]}: equity must be positive")
    return values[1:] / values[:-1] - 1.0


def equity_from_returns(returns: npt.ArrayLike, start: float = 1.0) -> FloatArray:
    """The equity curve of ``returns`` anchored at ``start``: ``len(returns) + 1`` points, the
    first being ``start`` (the value before the first return)."""
    r = as_returns(returns)
    curve = np.empty(r.size + 1, dtype=np.float64)
    curve[0] = 1.0
    np.add(r, 1.0, out=curve[1:])
    np.cumprod(curve, out=curve)
    if start != 1.0:
        curve *= start
    return curve


def _divide(numerator: float, denominator: float) -> float:
    """IEEE division (x/0 is ±inf, 0/0 is nan), as numpy does, without warnings."""
    if denominator == 0.0:
        if numerator == 0.0 or math.isnan(numerator):
            return math.nan
        return math.copysign(math.inf, numerator) * math.copysign(1.0, denominator)
    return numerator / denominator


def _sum_of_squares(values: FloatArray) -> float:
    """Sum of squares, squaring in place (``values`` is overwritten)."""
    np.square(values, out=values)
    return float(values.sum())


def _sample_std(values: FloatArray) -> float:
    """Sample standard deviation (ddof=1); exactly 0 when all values are equal (a floating-point
    mean can leave a ~1e-18 residue, which would turn an infinite ratio into a huge finite one;
    empyrical guards the same way)."""
    if values.size < 2:
        return math.nan
    if values.max() == values.min():
        return 0.0
    return float(values.std(ddof=1))


def total_return(returns: npt.ArrayLike) -> float:
    """Compounded return over the whole series: ``prod(1 + r) - 1``."""
    r = as_returns(returns)
    return float(np.prod(r + 1.0) - 1.0)


def _cagr_from_growth(growth: float, periods: int, periods_per_year: float) -> float:
    if growth < 0.0:
        return math.nan
    num_years = periods / periods_per_year
    return float(growth ** (1.0 / num_years) - 1.0)


def cagr(returns: npt.ArrayLike, periods_per_year: float = EQUITY_PERIODS_PER_YEAR) -> float:
    """Compound annual growth rate: ``prod(1 + r) ** (periods_per_year / n) - 1``, the years
    being counted as ``n / periods_per_year`` (empyrical ``annual_return``/``cagr``)."""
    r = as_returns(returns)
    check_periods_per_year(periods_per_year)
    return _cagr_from_growth(float(np.prod(r + 1.0)), r.size, periods_per_year)


def annual_volatility(
    returns: npt.ArrayLike, periods_per_year: float = EQUITY_PERIODS_PER_YEAR
) -> float:
    """Sample standard deviation (ddof=1) of the returns times ``sqrt(periods_per_year)``."""
    r = as_returns(returns)
    check_periods_per_year(periods_per_year)
    if r.size < 2:
        return math.nan
    return float(r.std(ddof=1)) * math.sqrt(periods_per_year)


def sharpe_ratio(
    returns: npt.ArrayLike,
    risk_free: float = 0.0,
    periods_per_year: float = EQUITY_PERIODS_PER_YEAR,
) -> float:
    """``mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year)``; ``risk_free`` is the
    per-period rate (see :func:`per_period_rate`)."""
    r = as_returns(returns)
    check_periods_per_year(periods_per_year)
    if r.size < 2:
        return math.nan
    excess = r - risk_free if risk_free != 0.0 else r
    return _divide(float(excess.mean()), _sample_std(excess)) * math.sqrt(periods_per_year)


def _downside_risk(excess: FloatArray, periods_per_year: float) -> float:
    downside = np.minimum(excess, 0.0)
    np.square(downside, out=downside)
    return math.sqrt(float(downside.mean())) * math.sqrt(periods_per_year)


def downside_risk(
    returns: npt.ArrayLike,
    required_return: float = 0.0,
    periods_per_year: float = EQUITY_PERIODS_PER_YEAR,
) -> float:
    """Annualised downside deviation below ``required_return`` (per period):
    ``sqrt(mean(min(r - required, 0) ** 2)) * sqrt(periods_per_year)`` — the mean is over all
    periods, not only the losing ones."""
    r = as_returns(returns)
    check_periods_per_year(periods_per_year)
    return _downside_risk(r - required_return, periods_per_year)


def sortino_ratio(
    returns: npt.ArrayLike,
    required_return: float = 0.0,
    periods_per_year: float = EQUITY_PERIODS_PER_YEAR,
) -> float:
    """``mean(r - required) * periods_per_year / downside_risk``; ``required_return`` is the
    per-period minimum acceptable return (we pass the per-period risk-free rate)."""
    r = as_returns(returns)
    check_periods_per_year(periods_per_year)
    if r.size < 2:
        return math.nan
    excess = r - required_return if required_return != 0.0 else r
    return _divide(
        float(excess.mean()) * periods_per_year, _downside_risk(excess, periods_per_year)
    )


def _drawdowns_of_curve(curve: FloatArray) -> FloatArray:
    drawdown = np.maximum.accumulate(curve)
    np.divide(curve, drawdown, out=drawdown)
    drawdown -= 1.0
    return drawdown


def drawdown_series(returns: npt.ArrayLike) -> FloatArray:
    """Drawdown after each period: ``equity / running_peak - 1`` (0 at a new high, negative
    below it), the running peak including the starting value before the first return."""
    return _drawdowns_of_curve(equity_from_returns(returns))[1:]


def max_drawdown(returns: npt.ArrayLike) -> float:
    """The deepest drawdown (a negative fraction, 0 if the equity never fell)."""
    return float(drawdown_series(returns).min())


def _longest_run(mask: BoolArray) -> int:
    """Length of the longest run of True in ``mask``."""
    if not mask.any():
        return 0
    padded = np.zeros(mask.size + 2, dtype=np.int8)
    padded[1:-1] = mask
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return int((ends - starts).max())


def max_drawdown_duration(returns: npt.ArrayLike) -> int:
    """The longest drawdown in periods: the most consecutive periods the equity closed below
    its previous peak (a drawdown still open at the end counts up to the last period)."""
    return _longest_run(drawdown_series(returns) < 0.0)


def calmar_ratio(
    returns: npt.ArrayLike, periods_per_year: float = EQUITY_PERIODS_PER_YEAR
) -> float:
    """CAGR / |max drawdown|; nan when there was no drawdown (or the ratio is infinite)."""
    r = as_returns(returns)
    return _calmar(cagr(r, periods_per_year), max_drawdown(r))


def _calmar(growth_rate: float, deepest: float) -> float:
    if not deepest < 0.0:
        return math.nan
    ratio = growth_rate / abs(deepest)
    return math.nan if math.isinf(ratio) else ratio


def alpha_beta(
    returns: npt.ArrayLike,
    benchmark_returns: npt.ArrayLike,
    risk_free: float = 0.0,
    periods_per_year: float = EQUITY_PERIODS_PER_YEAR,
) -> tuple[float, float]:
    """Annualised alpha and beta against a benchmark of the same periods.

    ``beta = mean((b - mean(b)) * r) / mean((b - mean(b)) ** 2)`` (the OLS slope; nan when the
    benchmark variance is below 1e-30; a constant risk-free rate does not change it), and
    ``alpha = (1 + mean((r - rf) - beta * (b - rf))) ** periods_per_year - 1`` with ``rf`` the
    per-period rate."""
    r = as_returns(returns)
    b = as_returns(benchmark_returns, name="benchmark returns")
    check_periods_per_year(periods_per_year)
    return _alpha_beta(r, b, risk_free, periods_per_year)


def _alpha_beta(
    r: FloatArray,
    b: FloatArray,
    risk_free: float,
    periods_per_year: float,
    scratch: FloatArray | None = None,
) -> tuple[float, float]:
    if r.size != b.size:
        raise AnalyticsInputError(
            f"returns and benchmark returns must cover the same periods: {r.size} vs {b.size}"
        )
    if r.size < 2:
        return math.nan, math.nan
    residual = np.subtract(b, b.mean(), out=scratch)
    covariance = float(np.einsum("i,i->", residual, r)) / r.size
    variance = _sum_of_squares(residual) / r.size
    beta = math.nan if variance < _MIN_BENCHMARK_VARIANCE else covariance / variance
    if math.isnan(beta):
        return math.nan, math.nan
    mean_alpha = float(r.mean()) - risk_free - beta * (float(b.mean()) - risk_free)
    alpha = float(np.power(1.0 + mean_alpha, periods_per_year) - 1.0)
    return alpha, beta


def exposure(in_market: npt.ArrayLike) -> float:
    """Fraction of periods with a non-zero position (``in_market`` holds one flag, or one
    position size, per period)."""
    flags = np.asarray(in_market)
    if flags.ndim != 1 or flags.size == 0:
        raise AnalyticsInputError("exposure needs one position flag per period, got none")
    return float(np.count_nonzero(flags)) / flags.size


@dataclass(frozen=True, slots=True)
class PerformanceMetrics:
    """The metric set over one returns series. Fractions are fractions (0.05 is 5%)."""

    periods: int
    periods_per_year: float
    risk_free_annual: float
    total_return: float
    cagr: float
    annual_volatility: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    max_drawdown_duration: int
    """Periods; see :func:`max_drawdown_duration`."""
    win_rate: float
    profit_factor: float
    avg_win: float
    avg_loss: float
    expectancy: float
    exposure: float
    exposure_basis: Literal["positions", "nonzero_returns"]
    alpha: float | None = None
    beta: float | None = None

    def as_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)


def compute_metrics(
    returns: npt.ArrayLike,
    *,
    periods_per_year: float = EQUITY_PERIODS_PER_YEAR,
    risk_free_annual: float = 0.0,
    benchmark_returns: npt.ArrayLike | None = None,
    in_market: npt.ArrayLike | None = None,
) -> PerformanceMetrics:
    """Every metric over ``returns`` in one vectorised pass over shared intermediates.

    ``risk_free_annual`` is converted per period with :func:`per_period_rate`.
    ``benchmark_returns`` (same periods) adds alpha and beta. ``in_market`` (one flag or
    position size per period) gives exposure; without it exposure is the fraction of periods
    with a non-zero return (``exposure_basis`` says which). Win rate, profit factor, average
    win/loss and expectancy here are over periods; trade-based ones are in ``trades.py``.
    """
    r = as_returns(returns)
    check_periods_per_year(periods_per_year)
    rf = per_period_rate(risk_free_annual, periods_per_year)
    benchmark = (
        as_returns(benchmark_returns, name="benchmark returns")
        if benchmark_returns is not None
        else None
    )
    flags = np.asarray(in_market) if in_market is not None else None
    if flags is not None and flags.shape != r.shape:
        raise AnalyticsInputError(
            f"in_market must hold one flag per period: {flags.size} flags for {r.size} periods"
        )
    n = r.size
    sqrt_ppy = math.sqrt(periods_per_year)
    # Every 8 MB temporary costs page faults at a million points: reuse one scratch buffer.
    # (No BLAS dot products: multithreaded OpenBLAS stalls badly on a busy machine.)
    scratch = np.empty_like(r)

    # Equity curve anchored at 1 before the first return, and its drawdowns.
    curve = equity_from_returns(r)
    growth = float(curve[-1])
    growth_rate = _cagr_from_growth(growth, n, periods_per_year)
    relative = np.maximum.accumulate(curve)
    np.divide(curve, relative, out=relative)  # equity / running peak: 1.0 exactly at a high
    deepest = float(relative.min()) - 1.0
    highs = np.flatnonzero(relative == 1.0)  # index 0 (the anchor) is always a high
    longest = max(int(np.diff(highs).max(initial=1)) - 1, n - int(highs[-1]))

    mean = float(r.mean())
    mean_excess = mean - rf
    if n >= 2:
        std = math.sqrt(_sum_of_squares(np.subtract(r, mean, out=scratch)) / (n - 1))
        # Equal values have no dispersion; the float mean can leave a ~1e-18 residue (see
        # _sample_std). Only a near-zero std needs the exact check.
        if std <= abs(mean) * 1e-10 and r.max() == r.min():
            std = 0.0
        volatility = std * sqrt_ppy
        sharpe = _divide(mean_excess, std) * sqrt_ppy
        np.subtract(r, rf, out=scratch)
        np.minimum(scratch, 0.0, out=scratch)
        downside = math.sqrt(_sum_of_squares(scratch) / n) * sqrt_ppy
        sortino = _divide(mean_excess * periods_per_year, downside)
    else:
        volatility = sharpe = sortino = math.nan

    alpha: float | None = None
    beta: float | None = None
    if benchmark is not None:
        alpha, beta = _alpha_beta(r, benchmark, rf, periods_per_year, scratch)

    basis: Literal["positions", "nonzero_returns"]
    if flags is not None:
        exposed, basis = exposure(flags), "positions"
    else:
        exposed, basis = exposure(r), "nonzero_returns"

    stats: WinLossStats = win_loss_stats(r)
    return PerformanceMetrics(
        periods=n,
        periods_per_year=periods_per_year,
        risk_free_annual=risk_free_annual,
        total_return=growth - 1.0,
        cagr=growth_rate,
        annual_volatility=volatility,
        sharpe=sharpe,
        sortino=sortino,
        calmar=_calmar(growth_rate, deepest),
        max_drawdown=deepest,
        max_drawdown_duration=longest,
        win_rate=stats.win_rate,
        profit_factor=stats.profit_factor,
        avg_win=stats.avg_win,
        avg_loss=stats.avg_loss,
        expectancy=stats.expectancy,
        exposure=exposed,
        exposure_basis=basis,
        alpha=alpha,
        beta=beta,
    )
