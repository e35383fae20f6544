"""Command-line options of the sma-cross strategy, shared by `trader backtest` and
`trader dual-run`. Light on purpose: the `trader` tool imports it at start."""

from __future__ import annotations

from typing import Annotated

import typer

FastOption = Annotated[int, typer.Option("--fast", help="Fast SMA length (bars).")]
SlowOption = Annotated[int, typer.Option("--slow", help="Slow SMA length (bars).")]
QtyOption = Annotated[str, typer.Option("--qty", help="Shares bought on each up-cross.")]
CashOption = Annotated[str, typer.Option("--cash", help="Starting cash.")]
