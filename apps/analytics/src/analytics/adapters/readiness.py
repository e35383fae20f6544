"""Readiness that includes the read model's database.

The shared ``/readyz`` (trader_common) reports the sidecar's health. Analytics is only ready
when its database answers too, so its platform handle gets a sidecar whose health check also
pings the database: one readiness endpoint for the launcher and for Kubernetes probes."""

from __future__ import annotations

from collections.abc import Sequence

from trader_common.adapters.dapr import (
    DaprEventPublisher,
    DaprServiceInvoker,
    DaprSidecar,
    DaprStateStore,
    SidecarHealth,
)
from trader_common.app import DaprPlatform
from trader_common.ports import PlatformUnavailableError
from trader_common.settings import AppSettings

from .database import Database


class SidecarAndDatabase(DaprSidecar):
    """The Dapr sidecar client, healthy only when the database answers as well."""

    def __init__(
        self, database: Database, http_port: int, host: str, api_token: str | None
    ) -> None:
        super().__init__(http_port, host, api_token)
        self.database = database

    async def health(self, required_components: Sequence[str] = ()) -> SidecarHealth:
        sidecar = await super().health(required_components)
        try:
            await self.database.ping()
        except PlatformUnavailableError as error:
            detail = str(error) if sidecar.healthy else f"{sidecar.detail}; {error}"
            return SidecarHealth(False, detail, sidecar.components, sidecar.subscriptions)
        return sidecar


def platform_with_database(
    settings: AppSettings, database: Database, required_components: Sequence[str]
) -> DaprPlatform:
    """``DaprPlatform.from_settings`` with the database-aware sidecar."""
    token = settings.sidecar.api_token.get_secret_value() if settings.sidecar.api_token else None
    sidecar = SidecarAndDatabase(database, settings.sidecar.http_port, settings.sidecar.host, token)
    return DaprPlatform(
        sidecar=sidecar,
        publisher=DaprEventPublisher(sidecar, settings.pubsub_name, f"/{settings.app_id}"),
        state=DaprStateStore(sidecar, settings.statestore_name),
        invoker=DaprServiceInvoker(sidecar),
        required_components=tuple(required_components),
    )
