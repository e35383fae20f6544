"""The running platform as the dual-run driver sees it: the apps' REST APIs over HTTP and a
Dapr sidecar to publish market events through (``DistributedPlatform``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from trader_common.adapters.dapr import DaprEventPublisher, DaprSidecar
from trader_common.contracts import BarClosed

PUBSUB = "pubsub"


class PlatformCallError(RuntimeError):
    """An app answered a dual-run call with an error; the message has its answer."""


def _json(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 300:
        raise PlatformCallError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


class HttpPlatform:
    def __init__(
        self,
        *,
        engine_url: str,
        ai_decision_url: str,
        orchestrator_url: str,
        sidecar_http_port: int,
        timeout_seconds: float = 30.0,
    ) -> None:
        self._http = httpx.AsyncClient(timeout=timeout_seconds)
        self._engine = engine_url.rstrip("/")
        self._ai = ai_decision_url.rstrip("/")
        self._orchestrator = orchestrator_url.rstrip("/")
        self._sidecar = DaprSidecar(sidecar_http_port, timeout_seconds=timeout_seconds)
        self._publisher = DaprEventPublisher(self._sidecar, PUBSUB, "/dual-run")

    async def close(self) -> None:
        await self._http.aclose()
        await self._sidecar.close()

    async def publish_bars(self, bars: Sequence[BarClosed]) -> None:
        await self._publisher.publish_many(bars)

    async def engine_last_bar_closes(self) -> dict[str, datetime]:
        market = _json(await self._http.get(f"{self._engine}/market"), "trading engine /market")
        return {
            symbol: datetime.fromisoformat(bar["ts_close"])
            for symbol, bar in market["last_bars"].items()
        }

    async def decision_bar_close(self, symbol: str, as_of: datetime) -> datetime | None:
        features = _json(
            await self._http.get(
                f"{self._ai}/features/{symbol}", params={"as_of": as_of.isoformat()}
            ),
            f"ai-decision /features/{symbol}",
        )
        bars = features.get("bars")
        return None if not bars else datetime.fromisoformat(bars["as_of"])

    async def start_cycle(self, body: Mapping[str, Any]) -> None:
        _json(
            await self._http.post(f"{self._orchestrator}/cycles", json=dict(body)),
            f"orchestrator POST /cycles {body.get('cycle_id')}",
        )

    async def cycle(self, cycle_id: str) -> dict[str, Any]:
        response = await self._http.get(f"{self._orchestrator}/cycles/{cycle_id}")
        if response.status_code in (404, 503):  # not visible yet, or a read to retry
            return {"status": "pending"}
        state: dict[str, Any] = _json(response, f"orchestrator GET /cycles/{cycle_id}")
        return state

    async def engine_records(
        self,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        orders = _json(
            await self._http.get(f"{self._engine}/orders", params={"limit": 10_000}),
            "trading engine /orders",
        )
        positions = _json(await self._http.get(f"{self._engine}/positions"), "engine /positions")
        account = _json(await self._http.get(f"{self._engine}/account"), "engine /account")
        return orders, positions, account
