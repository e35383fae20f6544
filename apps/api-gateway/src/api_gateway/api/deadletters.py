"""Dead letters: the delivery route for the dead-letter topic, and GET /deadletters."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from trader_common.app import DROP, RETRY, SUCCESS
from trader_common.cloudevents import loads_json
from trader_common.contracts import utc_now
from trader_common.ports import ConcurrencyConflictError, PlatformUnavailableError

from ..domain.deadletters import DeadLetter, dead_letter_from_delivery
from ..service.deadletters import DeadLetterLog

log = logging.getLogger(__name__)
router = APIRouter(tags=["dead letters"])


def _log(request: Request) -> DeadLetterLog:
    letters: DeadLetterLog = request.app.state.dead_letters
    return letters


@router.post("/events/deadletters", include_in_schema=False)
async def on_dead_letter(request: Request) -> dict[str, str]:
    try:
        envelope = loads_json(await request.body())
        if not isinstance(envelope, dict):
            raise ValueError(f"not a JSON object but {type(envelope).__name__}")
    except ValueError as exc:
        log.error("dead letter delivery is not a CloudEvent; dropping", extra={"reason": str(exc)})
        return DROP
    letter = dead_letter_from_delivery(envelope, utc_now())
    try:
        await _log(request).record(letter)
    except (PlatformUnavailableError, ConcurrencyConflictError) as exc:
        log.warning("could not record dead letter; retrying", extra={"reason": str(exc)})
        return RETRY
    log.warning(
        "dead letter recorded",
        extra={"id": letter.id, "topic": letter.original_topic, "type": letter.original_type},
    )
    return SUCCESS


@router.get("/deadletters", summary="Most recent dead letters, newest first")
async def list_dead_letters(
    request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    letters: list[DeadLetter] = await _log(request).recent(limit)
    return [letter.model_dump(mode="json") for letter in letters]
