"""What every app shares: the Dapr platform handle, health and readiness, error mapping, and
the pub/sub delivery endpoint contract (SUCCESS / RETRY / DROP)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .adapters.dapr import (
    DaprEventPublisher,
    DaprServiceInvoker,
    DaprSidecar,
    DaprStateStore,
)
from .cloudevents import from_cloud_event, loads_json
from .contracts import Event, EventDecodeError
from .logging import configure_logging
from .ports import PlatformUnavailableError
from .settings import AppSettings
from .telemetry import configure_telemetry

log = logging.getLogger(__name__)


@dataclass
class DaprPlatform:
    """The app's view of its sidecar: built once in ``create_app`` and closed on shutdown."""

    sidecar: DaprSidecar
    publisher: DaprEventPublisher
    state: DaprStateStore
    invoker: DaprServiceInvoker
    required_components: tuple[str, ...]

    @classmethod
    def from_settings(
        cls, settings: AppSettings, required_components: Sequence[str] = ()
    ) -> DaprPlatform:
        token = (
            settings.sidecar.api_token.get_secret_value() if settings.sidecar.api_token else None
        )
        sidecar = DaprSidecar(settings.sidecar.http_port, settings.sidecar.host, token)
        return cls(
            sidecar=sidecar,
            publisher=DaprEventPublisher(sidecar, settings.pubsub_name, f"/{settings.app_id}"),
            state=DaprStateStore(sidecar, settings.statestore_name),
            invoker=DaprServiceInvoker(sidecar),
            required_components=tuple(required_components),
        )


def get_platform(request: Request) -> DaprPlatform:
    platform: DaprPlatform = request.app.state.platform
    return platform


PlatformDep = Annotated[DaprPlatform, Depends(get_platform)]

health_router = APIRouter(tags=["health"])


@health_router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@dataclass(frozen=True)
class Readiness:
    """What one app-specific readiness check found: whether the app may take traffic, why
    not, and fields to add to the /readyz body."""

    ready: bool
    detail: str | None = None
    report: Mapping[str, Any] = field(default_factory=dict)


ReadinessCheck = Callable[[FastAPI], Awaitable[Readiness]]


@health_router.get(
    "/readyz",
    summary="Readiness: the sidecar is healthy and has this app's components, and the app's "
    "own checks pass",
    responses={503: {"description": "Not ready, with the reason"}},
)
async def readyz(request: Request, platform: PlatformDep) -> JSONResponse:
    health = await platform.sidecar.health(platform.required_components)
    ready = health.healthy
    details = [] if health.healthy else [health.detail]
    body: dict[str, Any] = {
        "components": list(health.components),
        "subscriptions": list(health.subscriptions),
    }
    checks: Sequence[ReadinessCheck] = request.app.state.readiness_checks
    for check in checks:
        found = await check(request.app)
        body.update(found.report)
        if not found.ready:
            ready = False
            details.append(found.detail or "not ready")
    body["status"] = "ready" if ready else "not-ready"
    body["detail"] = "; ".join(details) if details else "ok"
    return JSONResponse(body, status_code=200 if ready else 503)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
            for err in exc.errors()
        ]
        return JSONResponse({"error": "invalid request", "problems": problems}, status_code=422)

    @app.exception_handler(PlatformUnavailableError)
    async def _unavailable(_: Request, exc: PlatformUnavailableError) -> JSONResponse:
        return JSONResponse({"error": "dependency unavailable", "detail": str(exc)}, 503)


def build_app(
    settings: AppSettings,
    *,
    title: str,
    description: str,
    required_components: Sequence[str] = ("pubsub", "statestore"),
    routers: Sequence[APIRouter] = (),
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None,
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None,
    platform: DaprPlatform | None = None,
    readiness_checks: Sequence[ReadinessCheck] = (),
) -> FastAPI:
    """Assemble an app: logging, telemetry, the platform handle, health, error mapping."""
    configure_logging(settings.app_id, settings.log_level, settings.log_json)
    configure_telemetry(settings.app_id)
    the_platform = platform or DaprPlatform.from_settings(settings, required_components)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if on_startup:
            await on_startup(app)
        log.info("started", extra={"port": settings.port})
        try:
            yield
        finally:
            if on_shutdown:
                await on_shutdown(app)
            await the_platform.sidecar.close()

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.platform = the_platform
    app.state.readiness_checks = list(readiness_checks)
    app.include_router(health_router)
    for router in routers:
        app.include_router(router)
    _install_error_handlers(app)
    return app


# --- pub/sub delivery -------------------------------------------------------------------------

SUCCESS: dict[str, str] = {"status": "SUCCESS"}
RETRY: dict[str, str] = {"status": "RETRY"}
DROP: dict[str, str] = {"status": "DROP"}


async def deliver(request: Request, handle: Callable[[Event], Awaitable[None]]) -> dict[str, str]:
    """Decode a delivered CloudEvent and hand it to ``handle``.

    Bad input (not JSON, JSON nested too deep to parse, not a CloudEvent, unknown type, schema
    violation) is answered DROP, so daprd moves it to the dead-letter topic and the messages
    behind it keep flowing. A platform outage is answered RETRY, so the resiliency policy
    retries it.
    """
    raw = await request.body()
    try:
        envelope: Any = loads_json(raw)
        event = from_cloud_event(envelope)
    except (ValueError, RecursionError, EventDecodeError) as exc:
        log.warning(
            "dropped undeliverable message to dead letters",
            extra={"reason": str(exc), "path": request.url.path},
        )
        return DROP
    try:
        await handle(event)
    except PlatformUnavailableError as exc:
        log.warning(
            "will retry message", extra={"reason": str(exc), "event_id": str(event.event_id)}
        )
        return RETRY
    return SUCCESS
