"""Pub/sub delivery routes (declared in dapr/subscriptions/)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from trader_common.app import deliver
from trader_common.contracts import Event, QuoteUpdated

from .deps import get_service
from .quotes import get_quote_book

router = APIRouter(tags=["events"], include_in_schema=False)


@router.post("/events/market")
async def on_market_event(request: Request) -> dict[str, str]:
    book = get_quote_book(request)

    async def handle(event: Event) -> None:
        # Not started yet: PlatformUnavailableError -> RETRY (daprd redelivers it later).
        await get_service(request).on_market_event(event)
        if isinstance(event, QuoteUpdated):
            await book.record(event)

    return await deliver(request, handle)
