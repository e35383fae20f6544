"""GET /quotes/{symbol}: the last quote the engine saw (within its TTL)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request

from ..service.quotes import QuoteBook

router = APIRouter(tags=["quotes"])

# The symbol may hold a slash (BTC/USD): the route takes the rest of the path.
SymbolPath = Annotated[
    str,
    Path(min_length=1, max_length=32, pattern=r"^[A-Z0-9./:-]+$", description="e.g. AAPL"),
]


def get_quote_book(request: Request) -> QuoteBook:
    book: QuoteBook = request.app.state.quote_book
    return book


QuoteBookDep = Annotated[QuoteBook, Depends(get_quote_book)]


@router.get("/quotes/{symbol:path}", responses={404: {"description": "No quote in the last TTL"}})
async def get_quote(symbol: SymbolPath, book: QuoteBookDep) -> dict[str, Any]:
    quote = await book.latest(symbol)
    if quote is None:
        raise HTTPException(404, f"no quote for {symbol} in the last cache period")
    return quote.payload()
