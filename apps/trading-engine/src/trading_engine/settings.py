"""Trading engine settings (env prefix TRADING_ENGINE_). Documented in docs/trading-engine.md."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from trader_common.settings import AppSettings

from .domain.events import AccountType

_SYMBOLS = r"^([A-Z0-9./:-]{1,32}(,[A-Z0-9./:-]{1,32})*)?$"


class TradingEngineSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="TRADING_ENGINE_", extra="ignore")

    app_id: str = "trading-engine"
    port: int = Field(default=8103, ge=1, le=65535)
    quote_ttl_seconds: int = Field(default=30, ge=1, le=86_400)

    # The account (opened once, when the stream is new).
    account_id: str = Field(default="paper", min_length=1, max_length=64)
    starting_cash: Decimal = Field(default=Decimal(100_000), ge=0)
    account_type: AccountType = AccountType.MARGIN
    margin_multiplier: Decimal = Field(default=Decimal(2), ge=1)
    shorting_enabled: bool = True

    # Assets: comma-separated symbols. Equities trade on ``equity_calendar`` (an
    # exchange-calendars name, or "24/7" for a demo that fills around the clock).
    equities: str = Field(default="AAPL,MSFT,SPY,GOOG", pattern=_SYMBOLS)
    equity_calendar: str = Field(default="XNYS", min_length=1, max_length=16)
    crypto: str = Field(default="BTC/USD", pattern=_SYMBOLS)

    # Risk limits (unset: not checked).
    max_order_notional: Decimal | None = Field(default=None, gt=0)
    max_position_notional: Decimal | None = Field(default=None, gt=0)
    max_position_pct_of_equity: Decimal | None = Field(default=None, gt=0)
    max_gross_exposure: Decimal | None = Field(default=None, gt=0)
    price_collar_pct: Decimal | None = Field(default=None, gt=0)
    max_open_orders: int | None = Field(default=None, ge=1)
    max_orders_per_second: int | None = Field(default=None, ge=1)
    max_daily_loss: Decimal | None = Field(default=None, gt=0)
    max_drawdown_pct: Decimal | None = Field(default=None, gt=0)

    # The paper exchange: which bars fill orders (bars of other timeframes only mark), and
    # the clock: "system" (wall time) or "market" (the time of the latest market event, for
    # replaying past bars, e.g. `trader dual-run`).
    bar_timeframe: Literal["1Min", "5Min", "15Min", "1Hour", "1Day"] = "1Min"
    clock: Literal["system", "market"] = "system"

    # Where orders execute: "paper" (the in-process exchange) or "alpaca" (Alpaca's paper API
    # through alpaca-py; keys from the secret store as alpaca:api-key and alpaca:secret-key).
    # The URL overrides point alpaca-py elsewhere (local fakes, a proxy).
    broker: Literal["paper", "alpaca"] = "paper"
    secret_store: str = Field(default="secretstore", min_length=1)
    alpaca_trading_url: str | None = None
    alpaca_stream_url: str | None = None
    alpaca_retry_attempts: int = Field(default=3, ge=0, le=10)
    alpaca_retry_wait_seconds: float = Field(default=3.0, gt=0, le=60)
    alpaca_reconcile_seconds: float = Field(default=15.0, gt=0, le=3600)
    alpaca_resubmit_seconds: float = Field(default=60.0, ge=0, le=3600)

    # Persistence: the event stream in the state store, and the timer that lets time pass
    # (expiries, risk days) and retries unpublished outbox messages.
    stream: str = Field(default="trading-engine", pattern=r"^[\w.\-]{1,64}$")
    timer_seconds: float = Field(default=1.0, gt=0, le=3600)
    snapshot_every: int = Field(default=1000, ge=1)

    @field_validator("equities", "crypto")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    def equity_symbols(self) -> list[str]:
        return [s for s in self.equities.split(",") if s]

    def crypto_symbols(self) -> list[str]:
        return [s for s in self.crypto.split(",") if s]
