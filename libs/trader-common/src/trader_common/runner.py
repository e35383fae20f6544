"""Run an app under uvicorn with the app's own settings (used by ``python -m <app>``)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from .settings import AppSettings


def serve(app: FastAPI, settings: AppSettings) -> None:
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # our JSON logging, configured by build_app
        access_log=False,
        timeout_graceful_shutdown=5,
    )
