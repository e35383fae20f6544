"""Request-scoped access to what ``create_app`` built, and symbol validation for paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from ..domain.normalise import SYMBOL_PATTERN
from ..service.reads import MarketReads


def get_reads(request: Request) -> MarketReads:
    reads: MarketReads = request.app.state.reads
    return reads


ReadsDep = Annotated[MarketReads, Depends(get_reads)]


def checked_symbol(symbol: str) -> str:
    """Path symbols are case-insensitive (``aapl`` is ``AAPL``); ``BTC/USD`` may be written with
    the slash or as ``BTC%2FUSD``."""
    normalised = symbol.strip().upper()
    if not SYMBOL_PATTERN.match(normalised):
        raise HTTPException(
            400,
            detail=f"invalid symbol {symbol!r}: use upper-case letters, digits and . / : - "
            "(at most 32 characters)",
        )
    return normalised
