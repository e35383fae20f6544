"""analytics settings (env prefix ANALYTICS_). Bad settings fail at startup, naming the
variable and what is wrong with it."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from trader_common.settings import AppSettings

FALLBACK_DSN_VARIABLE = "TRADER_POSTGRES_DSN"


class AnalyticsSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore")

    app_id: str = "analytics"
    port: int = Field(default=8105, ge=1, le=65535)

    # The read model's PostgreSQL (libpq connection string or URI). Falls back to
    # TRADER_POSTGRES_DSN, which the local launcher sets when it runs PostgreSQL.
    database_dsn: SecretStr | None = Field(default=None, validate_default=True)
    database_pool_size: int = Field(default=4, ge=1, le=64)
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    database_startup_wait_seconds: float = Field(
        default=30.0, ge=0, le=600, description="How long start-up waits for the database"
    )

    # The read model's accounting
    default_account_id: str = Field(
        default="paper",
        min_length=1,
        description="Account of fills whose event carries no account_id (the engine's account)",
    )
    starting_cash: Decimal = Field(default=Decimal(100_000), ge=0, allow_inf_nan=False)
    starting_cash_by_account: dict[str, Decimal] = Field(
        default_factory=dict, description="Per-account starting cash (JSON object)"
    )

    # Metrics
    periods_per_year: float = Field(default=252.0, gt=0, le=366 * 24 * 60)
    risk_free_annual: float = Field(default=0.0, gt=-1.0, lt=10.0)

    @field_validator("database_dsn", mode="before")
    @classmethod
    def _dsn_or_fallback(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            value = os.environ.get(FALLBACK_DSN_VARIABLE, "").strip() or None
        if value is None:
            raise ValueError(
                f"no database configured: set ANALYTICS_DATABASE_DSN (or {FALLBACK_DSN_VARIABLE})"
            )
        return value

    @field_validator("starting_cash_by_account")
    @classmethod
    def _cash_not_negative(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for account, cash in value.items():
            if not account:
                raise ValueError("account ids must not be empty")
            if not cash.is_finite() or cash < 0:
                raise ValueError(f"starting cash of {account!r} must be a finite amount >= 0")
        return value

    def starting_cash_of(self, account_id: str) -> Decimal:
        return self.starting_cash_by_account.get(account_id, self.starting_cash)

    def dsn(self) -> str:
        assert self.database_dsn is not None  # the validator guarantees it
        return self.database_dsn.get_secret_value()
