"""Backtesting: the trading engine's domain code run in one process over historical bars.

``strategy`` (pure strategies: the ``Strategy`` protocol, ``SmaCross``), ``bars`` (daily bars and
the CSV reader), ``runner`` (``Backtester``: bars -> a real ``TradingEngine`` in-process ->
fills, equity curve, trades), ``report`` (JSON/CSV report with metrics), ``cli``
(``trader backtest``). Nothing is imported here, so importing the package costs nothing.
"""
