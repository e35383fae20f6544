"""Domain errors -> clear 4xx answers (never a 500 for bad input)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from trader_common.ports import ConcurrencyConflictError

from ..domain.errors import (
    ConfigurationError,
    InvalidCommandError,
    InvalidOrderError,
    InvalidTransitionError,
    UnknownOrderError,
)

STATUS: list[tuple[type[Exception], int, str]] = [
    (InvalidOrderError, 422, "invalid order"),
    (InvalidCommandError, 422, "invalid command"),
    (ConfigurationError, 422, "invalid request"),
    (UnknownOrderError, 404, "not found"),
    (InvalidTransitionError, 409, "conflict"),
    (ConcurrencyConflictError, 409, "concurrent change; retry"),
]

ERROR_RESPONSES: dict[int | str, dict[str, str]] = {
    404: {"description": "Unknown order or symbol"},
    409: {"description": "Not allowed in the order's current status"},
    422: {"description": "Invalid request, or the order was rejected (with the reason)"},
}


def _handler(status: int, title: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": title, "detail": str(exc)}, status_code=status)

    return handler


def install_error_handlers(app: FastAPI) -> None:
    for cls, status, title in STATUS:
        app.add_exception_handler(cls, _handler(status, title))
