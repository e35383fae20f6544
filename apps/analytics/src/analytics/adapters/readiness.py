"""Readiness that includes the read model's database: analytics is ready only when its sidecar
is (the shared /readyz) and its database answers (this check) — one readiness endpoint for
the launcher and for Kubernetes probes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from trader_common.app import Readiness
from trader_common.ports import PlatformUnavailableError

from .database import Database


def database_readiness(database: Database) -> Callable[[FastAPI], Awaitable[Readiness]]:
    async def check(_: FastAPI) -> Readiness:
        try:
            await database.ping()
        except PlatformUnavailableError as error:
            return Readiness(False, str(error))
        return Readiness(True)

    return check
