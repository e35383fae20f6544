"""Pub/sub delivery routes (declared in dapr/subscriptions/analytics.yaml).

Each delivered event is applied to the read model once (``SUCCESS``; a redelivery is a no-op).
Bad input — not a CloudEvent, an unknown type, a schema violation, or amounts the read model
cannot use — is answered ``DROP`` so daprd dead-letters it and the next message flows; an
unreachable database is answered ``RETRY``."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from analytics.domain.facts import EventRejectedError
from analytics.service.read_model import ReadModelService
from trader_common.app import DROP, deliver
from trader_common.contracts import Event

from .deps import IngestionDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["events"], include_in_schema=False)


async def _deliver(request: Request, ingestion: ReadModelService) -> dict[str, str]:
    rejected: list[str] = []

    async def handle(event: Event) -> None:
        try:
            outcome = await ingestion.ingest(event)
        except EventRejectedError as error:
            rejected.append(str(error))
            return
        log.debug(
            "event delivered",
            extra={
                "event_id": str(event.event_id),
                "type": event.cloud_event_type(),
                "outcome": outcome,
            },
        )

    answer = await deliver(request, handle)
    if rejected:
        log.warning(
            "dropped undeliverable message to dead letters",
            extra={"reason": rejected[0], "path": request.url.path},
        )
        return DROP
    return answer


@router.post("/events/trade")
async def on_trade_event(request: Request, ingestion: IngestionDep) -> dict[str, str]:
    return await _deliver(request, ingestion)


@router.post("/events/positions")
async def on_position_event(request: Request, ingestion: IngestionDep) -> dict[str, str]:
    return await _deliver(request, ingestion)


@router.post("/events/market")
async def on_market_event(request: Request, ingestion: IngestionDep) -> dict[str, str]:
    return await _deliver(request, ingestion)
