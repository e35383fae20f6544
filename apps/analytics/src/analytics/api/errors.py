"""HTTP mapping of the analytics errors: unknown scope or no data → 404, bad input → 422."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from analytics.domain.errors import AnalyticsInputError, NoDataError


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NoDataError)
    async def _not_found(_: Request, exc: NoDataError) -> JSONResponse:
        return JSONResponse({"error": "not found", "detail": str(exc)}, status_code=404)

    @app.exception_handler(AnalyticsInputError)
    async def _invalid(_: Request, exc: AnalyticsInputError) -> JSONResponse:
        return JSONResponse({"error": "invalid request", "detail": str(exc)}, status_code=422)
