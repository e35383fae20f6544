"""Decision requests in: CloudEvents over HTTP (push delivery that can wake the service from
zero) and pub/sub deliveries; market events in for the feature store."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from trader_common.app import DROP, RETRY, SUCCESS, deliver
from trader_common.ports import PlatformUnavailableError

from ..adapters.cloudevents_http import CloudEventError, RequestInvalidError, parse_request
from ..domain.commands import REQUEST_DECISION_TYPE
from .deps import FeaturesDep, RequestsDep

log = logging.getLogger(__name__)

router = APIRouter(tags=["decisions"])
events_router = APIRouter(tags=["events"], include_in_schema=False)


@router.post(
    "/decisions/requests",
    summary="Request decisions: a CloudEvent (binary or structured) of type "
    + REQUEST_DECISION_TYPE,
    responses={
        400: {"description": "Not a CloudEvent of the request type"},
        422: {"description": "The request data is invalid, with each problem"},
        503: {"description": "State store or pub/sub unavailable: retry"},
    },
)
async def request_decisions(request: Request, service: RequestsDep) -> JSONResponse:
    body = await request.body()
    try:
        event_id, command = parse_request(dict(request.headers), body)
    except CloudEventError as exc:
        return JSONResponse({"error": "not a decision request", "detail": str(exc)}, 400)
    except RequestInvalidError as exc:
        return JSONResponse({"error": "invalid decision request", "problems": exc.problems}, 422)
    outcomes = await service.handle(command)
    payload: dict[str, Any] = {
        "request_id": str(command.request_id),
        "cloudevent_id": event_id,
        "strategy_id": command.strategy_id,
        "outcomes": [o.to_json() for o in outcomes],
    }
    return JSONResponse(payload, 200)


@events_router.post("/events/decision-requests")
async def on_decision_request(request: Request, service: RequestsDep) -> dict[str, str]:
    """Pub/sub delivery of a decision request: SUCCESS, RETRY (platform down) or DROP (bad)."""
    body = await request.body()
    try:
        _, command = parse_request(dict(request.headers), body)
    except (CloudEventError, RequestInvalidError) as exc:
        log.warning("dropped undeliverable decision request", extra={"reason": str(exc)})
        return DROP
    try:
        await service.handle(command)
    except PlatformUnavailableError as exc:
        log.warning("will retry decision request", extra={"reason": str(exc)})
        return RETRY
    return SUCCESS


@events_router.post("/events/market")
async def on_market_event(request: Request, features: FeaturesDep) -> dict[str, str]:
    """Market events for the feature store (bars, quotes, trades)."""

    async def handle(event: Any) -> None:
        await features.ingest(event)

    return await deliver(request, handle)
