"""Composition of ``broker=alpaca``: credentials from the Dapr secret store, the Alpaca broker
attached to the routed service, the trade_updates stream, and reconciliation on a timer, each
pass followed by a comparison of positions (``BrokerPositionWatch``).

Missing credentials are a start-up error, not a fallback to the paper exchange: an operator
who chose Alpaca must not find orders filled by a simulator. The engine stays not ready (503)
and says which secret is missing, every attempt, until it is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from trader_common.ports import EventPublisher, SecretSource

from .adapters.alpaca_broker import AlpacaBroker, AlpacaTradeUpdates
from .service.broker_positions import BrokerPositionWatch
from .service.routing import RoutedTradingService
from .settings import TradingEngineSettings

log = logging.getLogger(__name__)

API_KEY_SECRET = "alpaca:api-key"
SECRET_KEY_SECRET = "alpaca:secret-key"


class BrokerConfigurationError(Exception):
    """broker=alpaca cannot start: what is missing, in words an operator can act on."""


async def read_alpaca_keys(secrets: SecretSource, store: str) -> tuple[str, str]:
    key = await secrets.get(API_KEY_SECRET)
    secret = await secrets.get(SECRET_KEY_SECRET)
    missing = [
        name for name, value in ((API_KEY_SECRET, key), (SECRET_KEY_SECRET, secret)) if not value
    ]
    if missing or key is None or secret is None:
        raise BrokerConfigurationError(
            f"TRADING_ENGINE_BROKER=alpaca but secret store {store!r} has no "
            f"{' and no '.join(missing)}: set them, or set TRADING_ENGINE_BROKER=paper"
        )
    return key, secret


class AlpacaRouting:
    """The life of the Alpaca connection of one routed service."""

    def __init__(
        self,
        service: RoutedTradingService,
        settings: TradingEngineSettings,
        secrets: SecretSource,
        publisher: EventPublisher | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self._secrets = secrets
        self.updates: AlpacaTradeUpdates | None = None
        engine = service.engine
        self.positions = BrokerPositionWatch(
            broker=lambda: service.broker,
            engine_positions=lambda: {p.symbol: p.qty for p in engine.positions()},
            now=engine.now,
            publisher=publisher,
            broker_name="alpaca",
            service_name=settings.app_id,
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        """Read the keys, attach the broker, start the stream (its every connect reconciles)
        and the reconciliation timer."""
        settings = self.settings
        key, secret = await read_alpaca_keys(self._secrets, settings.secret_store)
        self.service.attach_broker(
            AlpacaBroker(
                key,
                secret,
                url_override=settings.alpaca_trading_url,
                retry_attempts=settings.alpaca_retry_attempts,
                retry_wait_seconds=settings.alpaca_retry_wait_seconds,
            )
        )
        self.updates = AlpacaTradeUpdates(
            key,
            secret,
            on_report=self.service.on_broker_report,
            on_connect=self.service.reconcile,
            url_override=settings.alpaca_stream_url,
        )
        self._tasks = [
            asyncio.create_task(self.updates.run()),
            asyncio.create_task(self._reconcile_every()),
        ]

    async def _reconcile_every(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alpaca_reconcile_seconds)
            try:
                await self.service.reconcile()
                await self.positions.check()
            except Exception:
                log.warning("reconciliation with Alpaca failed; next tick retries", exc_info=True)

    async def stop(self) -> None:
        if self.updates is not None:
            with contextlib.suppress(Exception):
                await self.updates.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
